# The simulated GPU's tests; include()d from tests/backends/CMakeLists.txt.
if(TARGET ys_backends)
  yoloscope_test(sim_backend_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/sim_backend_test.cc LIBS ys_backends LABELS unit)
endif()
