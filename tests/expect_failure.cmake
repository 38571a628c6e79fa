# cmake -DCOMMAND="a;b;c" -DREGEX=... -DTIMEOUT=s -P expect_failure.cmake
# Passes when COMMAND exits non-zero within TIMEOUT seconds and its output matches REGEX.
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT ${TIMEOUT})
message("${out}${err}")
if(rc STREQUAL "0")
  message(FATAL_ERROR "expected a non-zero exit, got 0")
endif()
if(rc MATCHES "timeout|Process terminated due to timeout")
  message(FATAL_ERROR "the command hung (no exit within ${TIMEOUT} s)")
endif()
if(NOT "${out}${err}" MATCHES "${REGEX}")
  message(FATAL_ERROR "output does not match '${REGEX}'")
endif()
message("ok: exit '${rc}' and the expected message")
