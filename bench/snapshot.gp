# SPDX-License-Identifier: GPL-2.0
# gnuplot -e "data='snapshot.dat'; out='snapshot.png'" snapshot.gp
# data: lines "MIB VMM_FULL_MS QEMU_FULL_MS VMM_RESTORE_MS QEMU_RESTORE_MS
# NONZERO_MIB ON_DISK_MIB QEMU_STREAM_MIB", one per guest size
# (bench/snapshot_bench.sh).
set terminal png size 1500, 420
set output out
set multiplot layout 1, 3 title "Full snapshots: this VMM against QEMU's migration, same guest, one run"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.6
set key top left
set grid ytics
set yrange [0:*]
set xlabel "guest MiB"
set title "Full snapshot (QEMU: migrate to a file)"
set ylabel "ms"
plot data using 2:xtic(1) title "vmm", '' using 3 title "QEMU"
set title "restore to the guest's first output"
set ylabel "ms"
plot data using 4:xtic(1) title "vmm", '' using 5 title "QEMU"
set offsets 0, 0, graph 0.4, 0
set title "what the snapshot holds"
set ylabel "MiB"
plot data using 6:xtic(1) title "non-zero guest pages", \
     '' using 7 title "vmm memory file on disk", \
     '' using 8 title "QEMU migration stream"
unset multiplot
