# SPDX-License-Identifier: GPL-2.0
# gnuplot -e "data='restore.dat'; out='restore.png'" [-e "what='...'"] restore.gp
# data: lines "LAT_US CASE MS MIB_READ", one per latency and case;
# what: the function, for the title.
if (!exists("what")) what = "fn: read 64 MiB, write 8 MiB"
lats = system("awk '{ print $1 }' " . data . " | sort -un | tr '\\n' ' '")
n = words(lats)
set terminal png size 1000, 360 * n
set output out
set multiplot layout n, 2 title sprintf("First invocation after restore (%s)", what)
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
set grid ytics
set offsets 0, 0, graph 0.12, 0
unset key
do for [i = 1:n] {
	l = word(lats, i)
	sel = "< awk '$1 == " . l . "' " . data
	set title sprintf("%s us per request: time", l)
	set ylabel "ms from load to done"
	plot sel using 0:3:xtic(2) with boxes, \
	     sel using 0:3:(sprintf("%d", $3)) with labels offset 0,0.8
	set title sprintf("%s us per request: read from the device", l)
	set ylabel "MiB read"
	plot sel using 0:4:xtic(2) with boxes lc 2, \
	     sel using 0:4:(sprintf("%.0f", $4)) with labels offset 0,0.8
}
unset multiplot
