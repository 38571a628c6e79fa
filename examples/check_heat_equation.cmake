# Runs 07_heat_equation at 1, 2 and 4 ranks (the checksum of the field must agree: the update is elementwise),
# then 30 steps on 1 rank resumed to 60 on 4 ranks by --resume-or-start (must equal the uninterrupted run; h5py
# reads the checkpoint they wrote), a corrupted checkpoint and one of another --c (refused on every rank), and a
# bad --c (exit 2).
function(run_heat np out_var)
  execute_process(COMMAND ${MPIEXEC} -np ${np} --oversubscribe ${EXE} --n 37 ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 240)
  message("--- ${np} rank(s) ${ARGN}:\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "07_heat_equation failed on ${np} rank(s) (exit ${rc})")
  endif()
  string(REGEX MATCH "checksum ([0-9a-f]+)" _ "${out}")
  set(${out_var} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  set(out "${out}" PARENT_SCOPE)
endfunction()

run_heat(1 c1 --steps 60 --snapshots 2 --out ${OUT}/np1)
run_heat(2 c2 --steps 60 --no-plots --out ${OUT}/np2)
run_heat(4 c4 --steps 60 --no-plots --out ${OUT}/np4)
if(NOT c1 STREQUAL c2 OR NOT c1 STREQUAL c4)
  message(FATAL_ERROR "fields differ: ${c1} (1 rank), ${c2} (2 ranks), ${c4} (4 ranks)")
endif()
# --resume-or-start starts where there is no checkpoint, and resumes where there is one (the same command twice).
file(REMOVE_RECURSE ${OUT}/resume)
run_heat(1 half --steps 30 --checkpoint-every 30 --no-plots --resume-or-start --out ${OUT}/resume)
if(out MATCHES "resumed")
  message(FATAL_ERROR "--resume-or-start resumed without a checkpoint")
endif()
run_heat(4 resumed --steps 60 --resume-or-start --no-plots --out ${OUT}/resume)
if(NOT resumed STREQUAL c1 OR NOT out MATCHES "resumed at step 30")
  message(FATAL_ERROR "30 steps on 1 rank resumed to 60 on 4 ranks gave ${resumed}, the uninterrupted run ${c1}")
endif()
# Another diffusion number would continue another run's field: refused on every rank, naming both values.
file(COPY ${OUT}/resume/checkpoint.h5 DESTINATION ${OUT}/other_c)
execute_process(COMMAND ${MPIEXEC} -np 2 --oversubscribe ${EXE} --n 37 --steps 90 --c 0.1 --resume --no-plots
                        --out ${OUT}/other_c
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
if(rc EQUAL 0 OR NOT "${out}${err}" MATCHES "written with --c 0.2; this run has --c 0.1")
  message(FATAL_ERROR "resuming with another --c must fail naming both (exit ${rc}): ${out}${err}")
endif()
# The checkpoint the 4 ranks wrote (each its block of one dataset) is the whole field to h5py, at step 60.
execute_process(COMMAND ${PYTHON} -c "import h5py, sys
f = h5py.File(sys.argv[1] + '/checkpoint.h5', 'r')
u = f['u'][...]
sys.exit(0 if u.shape == (37, 37) and f.attrs['step'] == 60 and u.max() > 0 else 'h5py reads %r, step %r' % (u.shape, f.attrs['step']))" "${OUT}/resume"
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "h5py does not read the 4-rank checkpoint as the field: ${err}")
endif()
# One byte changed: resuming on 2 ranks fails on every rank with the seal's message (no hang, nothing written).
file(COPY ${OUT}/resume/checkpoint.h5 DESTINATION ${OUT}/corrupt)
execute_process(COMMAND ${PYTHON} -c "import sys
p = sys.argv[1] + '/checkpoint.h5'
b = bytearray(open(p, 'rb').read()); b[len(b) // 2] ^= 0x10; open(p, 'wb').write(b)" "${OUT}/corrupt")
execute_process(COMMAND ${MPIEXEC} -np 2 --oversubscribe ${EXE} --n 37 --steps 90 --resume --no-plots --out ${OUT}/corrupt
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
if(rc EQUAL 0 OR NOT "${out}${err}" MATCHES "does not match its seal")
  message(FATAL_ERROR "a corrupted checkpoint must fail the resume naming the seal (exit ${rc}): ${out}${err}")
endif()
if(NOT EXISTS ${OUT}/np1/checkpoint.h5 OR NOT EXISTS ${OUT}/np1/summary.json OR NOT EXISTS ${OUT}/np1/u_60.dat)
  message(FATAL_ERROR "checkpoint.h5, summary.json or the snapshot data missing in ${OUT}/np1")
endif()
# summary.json is strict JSON (no NaN, strings escaped), even for an output directory named with a quote.
set(odd "${OUT}/say \"hi\" \\ there")
run_heat(1 _ --steps 3 --no-plots --out "${odd}")
execute_process(COMMAND ${PYTHON} -c "import json, sys
s = json.load(open(sys.argv[1] + '/summary.json'), parse_constant=lambda c: sys.exit('not JSON: ' + c))
sys.exit(0 if s['checkpoint'] == sys.argv[1] + '/checkpoint.h5' and s['steps'] == 3 else 'wrong values: %r' % s)" "${odd}"
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "summary.json in '${odd}' is not the expected JSON: ${err}")
endif()
execute_process(COMMAND ${EXE} --c 0.3 RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(NOT rc EQUAL 2 OR NOT err MATCHES "unstable")
  message(FATAL_ERROR "--c 0.3 must exit 2 naming the instability (got ${rc}: ${err})")
endif()
message("ok: checksum ${c1} at 1, 2 and 4 ranks and after a resume on another rank count")
