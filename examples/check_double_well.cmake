# Runs 01_double_well with small settings and checks it against physics and against chance:
# <v^2>/2 within 10% of kBT/2 (equipartition), the position histogram within L1 0.25 of the Boltzmann density,
# well-to-well transitions happened, the tercile labels are balanced, the classifier beats chance (1/3) by a
# wide margin on held-out points, and every promised file is written (the PNGs when gnuplot is installed).
# -DEXE=<driver> -DOUT=<dir> -DHDF5=<ON|OFF> (NABLA_ENABLE_HDF5: the .h5 files are written only with it)
file(REMOVE_RECURSE ${OUT})
execute_process(COMMAND ${EXE} --steps 200000 --epochs 60 --out ${OUT} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err TIMEOUT 300)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "01_double_well failed (${rc})")
endif()
file(READ ${OUT}/metrics.json json)
foreach(k mean_kinetic_energy histogram_l1_to_boltzmann transitions points class0 class1 class2 val_accuracy)
  string(JSON ${k} GET "${json}" ${k})
endforeach()
set(script "import sys
ekin, l1, trans, n, c0, c1, c2, acc = map(float, sys.argv[1:])
checks = [(abs(ekin - 0.5) < 0.05, 'equipartition: <v^2>/2 = %g, expected 0.5' % ekin),
          (l1 < 0.25, 'histogram L1 distance to Boltzmann %g >= 0.25' % l1),
          (trans >= 5, 'only %d well-to-well transitions' % trans),
          (max(c0, c1, c2) - min(c0, c1, c2) <= 0.02 * n + 2, 'tercile classes unbalanced: %d %d %d' % (c0, c1, c2)),
          (acc > 0.5, 'held-out accuracy %g is not well above chance (1/3)' % acc)]
for ok, msg in checks:
    if not ok: print('FAILED:', msg)
sys.exit(0 if all(ok for ok, _ in checks) else 1)")
execute_process(COMMAND /usr/bin/python3 -c "${script}" ${mean_kinetic_energy} ${histogram_l1_to_boltzmann}
                ${transitions} ${points} ${class0} ${class1} ${class2} ${val_accuracy} RESULT_VARIABLE bad)
if(NOT bad EQUAL 0)
  message(FATAL_ERROR "double-well results out of bounds")
endif()
set(files trajectory.csv points.dat loss.dat histogram.dat predicted.dat metrics.json)
if(HDF5)
  list(APPEND files trajectory.h5 model.h5)
endif()
foreach(f ${files})
  if(NOT EXISTS ${OUT}/${f})
    message(FATAL_ERROR "${OUT}/${f} was not written")
  endif()
endforeach()
execute_process(COMMAND gnuplot --version RESULT_VARIABLE no_gnuplot OUTPUT_QUIET ERROR_QUIET)
if(no_gnuplot EQUAL 0)
  foreach(f potential phase_space predicted loss)
    if(NOT EXISTS ${OUT}/${f}.png)
      message(FATAL_ERROR "gnuplot is installed but ${f}.png was not written")
    endif()
  endforeach()
endif()
message("ok")
