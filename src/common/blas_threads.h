// BLAS worker threads: the BLAS library that OpenCV links (Debian's OpenBLAS,
// pthreads build) starts one worker per extra core while the program loads,
// before main, and each worker spins on sched_yield for about 2^28 cycles
// (~0.1 s) before it sleeps. In a command that never multiplies matrices
// (`analyze` of a log) that spin takes a core away from the parsing threads:
// ~0.1 s of CPU per worker, 15% of the samples of a 300 MB analysis.
//
// ReleaseIdleBlasThreads() joins those workers through OpenBLAS's own
// shutdown entry point (the one it runs before fork()). OpenBLAS starts them
// again by itself at the next threaded BLAS call, so nothing that needs them
// breaks; it only pays the thread start then.
//
// Thread-safety: call it while no BLAS call is running (at the start of a
// command). Where the loaded BLAS is not OpenBLAS's pthreads build (reference
// BLAS, the OpenMP build, none at all) it does nothing.
#pragma once

namespace yoloscope {

// Joins the idle OpenBLAS worker threads. True when the shutdown entry point
// was found and called.
bool ReleaseIdleBlasThreads();

}  // namespace yoloscope
