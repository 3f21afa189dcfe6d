# SPDX-License-Identifier: GPL-2.0
# gnuplot -e "data='restore.dat'; out='restore.png'" restore.gp
set terminal png size 800,480
set output out
set title "First invocation after restore (fn: read 64 MiB, write 8 MiB)"
set ylabel "ms from load to done"
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
set grid ytics
unset key
plot data using 0:2:xtic(1) with boxes, \
     data using 0:2:(sprintf("%d", $2)) with labels offset 0,0.8
