# SPDX-License-Identifier: GPL-2.0
# gnuplot -e "data='clones.dat'; out='clones.png'" clones.gp
# data: lines "BACKEND K MS PSS_MIB CACHE_MIB USED0_MIB USED1_MIB", one per
# backend and K (bench/clones_bench.sh); MS is FAIL where a clone failed.
backends = system("awk '{ print $1 }' " . data . " | awk '!seen[$0]++' | tr '\\n' ' '")
n = words(backends)
set terminal png size 1500, 420
set output out
set multiplot layout 1, 3 title "Clone fan-out: K VMs restored at once from one snapshot, each invoked once"
set key top left
set grid
set xlabel "K (clones)"
set xrange [0:*]
set xtics 1
set yrange [0:*]
set datafile missing "FAIL"
sel(b) = "< awk '$1 == \"" . b . "\"' " . data
set title "time from the first load to the last reply"
set ylabel "ms"
plot for [i = 1:n] sel(word(backends, i)) using 2:3 with linespoints lw 2 title word(backends, i)
set title "the VMMs' (and handlers') PSS, summed"
set ylabel "MiB"
plot for [i = 1:n] sel(word(backends, i)) using 2:4 with linespoints lw 2 title word(backends, i)
set title "system memory used: growth over the run"
set ylabel "MiB"
plot for [i = 1:n] sel(word(backends, i)) using 2:($7 - $6) with linespoints lw 2 title word(backends, i)
unset multiplot
