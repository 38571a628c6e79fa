# Runs 08_hmc at 1 and 2 threads: the draws must be bit-identical (their checksums agree), every posterior mean
# within 5 MCSE of the quadrature the driver prints beside it (recomputed here from metrics.json), R-hat < 1.02;
# the same check with NUTS trajectories. Then the logistic regression (a batched target on the tape) at 1 and 2
# threads: the same draws, and every posterior mean and variance within 5 combined MCSE of Stan's long run; the
# same check with NUTS trajectories (grown in lockstep over the chains).
set(SIZE --chains 256 --warmup 300 --steps 200)
function(run_hmc threads dir out_var)
  execute_process(COMMAND ${EXE} ${SIZE} --out ${OUT}/${dir} ${ARGN}
                          --kokkos-num-threads=${threads}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 240)
  message("--- ${threads} thread(s) ${ARGN}:\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "08_hmc failed at ${threads} thread(s) (exit ${rc})")
  endif()
  string(REGEX MATCH "checksum of the draws ([0-9a-f]+)" _ "${out}")
  set(${out_var} "${CMAKE_MATCH_1}" PARENT_SCOPE)
endfunction()

run_hmc(1 t1 c1 --no-plots)
run_hmc(2 t2 c2)
if(NOT c1 OR NOT c1 STREQUAL c2)
  message(FATAL_ERROR "draws differ between 1 and 2 threads: '${c1}' vs '${c2}'")
endif()
run_hmc(2 nuts c_nuts --no-plots --trajectory nuts)
foreach(dir t2 nuts)
  execute_process(COMMAND ${PYTHON} -c "import json, sys
m = json.load(open(sys.argv[1]))
bad = []
for p in ['mu', 'tau'] + ['theta%d' % j for j in range(1, 9)]:
    z = (m[p + '_mean'] - m[p + '_exact_mean']) / m[p + '_mcse']
    if not abs(z) <= 5 or not m[p + '_rhat'] < 1.02:
        bad.append('%s: mean %.4f, exact %.4f, MCSE %.4f (z %.1f), R-hat %.4f' % (p, m[p + '_mean'], m[p + '_exact_mean'], m[p + '_mcse'], z, m[p + '_rhat']))
sys.exit('; '.join(bad) if bad else 0)" "${OUT}/${dir}/metrics.json" RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${dir}: posterior off the quadrature or not converged: ${err}")
  endif()
endforeach()

set(SIZE --chains 128 --warmup 250 --steps 150)
set(LOGISTIC --model logistic --data ${DATA} --reference ${REFERENCE})
run_hmc(1 logistic1 l1 --no-plots ${LOGISTIC})
run_hmc(2 logistic2 l2 ${LOGISTIC})
if(NOT l1 OR NOT l1 STREQUAL l2)
  message(FATAL_ERROR "logistic regression: draws differ between 1 and 2 threads: '${l1}' vs '${l2}'")
endif()
run_hmc(2 logistic_nuts l_nuts --no-plots ${LOGISTIC} --trajectory nuts)
foreach(dir logistic2 logistic_nuts)
  execute_process(COMMAND ${PYTHON} -c "import json, sys
m = json.load(open(sys.argv[1]))
bad = []
for k in range(31):
    p = 'beta%d' % k
    if not (abs(m[p + '_z_mean']) <= 5 and abs(m[p + '_z_var']) <= 5 and m[p + '_rhat'] < 1.03):
        bad.append('%s: z of the mean %.2f, of the variance %.2f, R-hat %.4f' % (p, m[p + '_z_mean'], m[p + '_z_var'], m[p + '_rhat']))
sys.exit('; '.join(bad) if bad else 0)" "${OUT}/${dir}/metrics.json" RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${dir}: posterior off Stan's or not converged: ${err}")
  endif()
endforeach()
