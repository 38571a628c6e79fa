# Runs COMMAND (a list); passes when it exits with status 2 and its output contains EXPECT.
# Usage: cmake "-DCOMMAND=<program;args...>" "-DEXPECT=<text>" -P check_exit2.cmake
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 50)
string(FIND "${out}${err}" "${EXPECT}" at)
if(NOT rc STREQUAL "2" OR at EQUAL -1)
  message(FATAL_ERROR "expected exit status 2 and '${EXPECT}'; got status ${rc}:\n${out}${err}")
endif()
message(STATUS "exit status 2: ${EXPECT}")
