#!/usr/bin/env bash
# Packs this machine's OpenMPI (Debian 12's openmpi-bin / libopenmpi3 / libpmix2 packages) into a relocatable runtime,
# .gpu/openmpi.tar.xz, for a machine without MPI (the lent GPU machine: benchmarks/gpu/run.sh unpacks it when carried).
# The tree mirrors /usr (bin/, lib/x86_64-linux-gnu/..., share/openmpi) so OPAL_PREFIX relocates every OpenMPI path;
# etc/openmpi is the sysconfdir (OPAL_SYSCONFDIR). Left out: compilers' wrappers, Fortran/Java/C++/OSHMEM libraries,
# the components that need InfiniBand, UCX, libfabric or PSM (their libraries are large and there is no such fabric),
# and glibc, libstdc++, libgcc_s and zlib (every target has them; an older copy would shadow the target's).
# Other shared libraries the kept files need (hwloc, libevent, munge, udev, libnl) come along in lib/deps.
#   use:  tar -C DIR -xJf .gpu/openmpi.tar.xz && . DIR/openmpi/env.sh && mpirun -n 2 ...
# Usage: build/mpi-bundle.sh [OUT_TAR]   (default .gpu/openmpi.tar.xz)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.gpu/openmpi.tar.xz}
mkdir -p "$(dirname "$out")"
arch=x86_64-linux-gnu
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
root=$stage/openmpi
mkdir -p "$root/bin" "$root/lib/deps" "$root/etc/openmpi"

# Files of the runtime packages, except documentation, development files and the compiler wrappers.
skip='/share/(man|doc|lintian)/|/include/|/pkgconfig/|wrapper-data\.txt$|/bin/(mpi(CC|c\+\+|cc|cxx|f77|f90|fort|javac)|opal(cc|c\+\+|_wrapper)|ortecc|osh|shmem|aggregate_profile|profile2mat)|mpi_cxx|mpi_java|mpifh|usempi|oshmem|libompitrace|ompi_monitoring_prof|/openmpi3/mca_(atomic|memheap|scoll|spml|sshmem)_|/openmpi-totalview|valgrind\.supp|amca-param-sets|btl-openib'
for pkg in openmpi-bin libopenmpi3 openmpi-common libpmix2; do
  dpkg -L "$pkg" >/dev/null 2>&1 || { echo "mpi-bundle: package $pkg is not installed (apt-get install openmpi-bin libopenmpi3 libpmix2)" >&2; exit 1; }
  dpkg -L "$pkg" | grep -E '^/(usr|etc)/' | grep -v -E "$skip" | while read -r f; do
    [ -f "$f" ] || [ -L "$f" ] || continue
    case "$f" in
      /etc/openmpi/*) dest=$root/etc/openmpi/${f#/etc/openmpi/} ;;
      /usr/bin/*) [ -L "$f" ] && continue; dest=$root/bin/${f#/usr/bin/} ;;   # Debian's alternatives: links below
      /usr/*) dest=$root/${f#/usr/} ;;
      *) continue ;;
    esac
    mkdir -p "$(dirname "$dest")"
    cp -P "$f" "$dest"
  done
done
# Debian reaches mpirun/mpiexec through /etc/alternatives; here they point at orterun directly.
for n in mpirun mpiexec mpirun.openmpi mpiexec.openmpi; do ln -sf orterun "$root/bin/$n"; done
rm -f "$root/bin/orte-server" "$root/bin/ompi-server"

# Components (and libraries) that need a fabric library: dropped, as the packaged mca-params.conf excludes most anyway.
heavy='libucp|libucs|libuct|libucm|libfabric|libpsm|libinfinipath|libibverbs|librdmacm|libmca_common_(ucx|ofi|verbs)|libjvm|libgfortran|libcuda'
# (ldd's output is read whole: grep -q closing the pipe early would fail the pipeline under pipefail)
is_elf() { [ -f "$1" ] && [ ! -L "$1" ] && [ "$(head -c4 "$1" | tail -c3)" = ELF ]; }
while read -r f; do
  is_elf "$f" || continue
  deps=$(ldd "$f" 2>/dev/null || true)
  if grep -q -E "$heavy" <<<"$deps"; then rm -f "$f"; fi
done < <(find "$root" -type f)
rm -f "$root"/lib/$arch/libmca_common_{ucx,ofi,verbs}.so*
find "$root" -xtype l -delete   # links whose target was dropped

# Shared libraries the kept files need that are not OpenMPI's own, not glibc's and not the target's base system.
base='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libutil|libresolv|libstdc\+\+|libgcc_s|libz)\.so'
while read -r f; do
  is_elf "$f" || continue
  ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
done < <(find "$root" -type f) | sort -u | while read -r name path; do
  [[ $name =~ $base ]] && continue
  case "$path" in */openmpi/*|*/pmix2/*|*/libmpi.so*|*/libopen-pal.so*|*/libopen-rte.so*|*/libmca_common_*|*/libpmix.so*) continue ;; esac
  [ -e "$root/lib/deps/$name" ] || cp -L "$path" "$root/lib/deps/$name"
done

# The packaged defaults (sysconfdir), with the fabrics gone; PMIx's component path follows the bundle (env.sh).
cat > "$root/etc/openmpi/openmpi-mca-params.conf" <<'EOF'
# SharpTitan's relocatable OpenMPI (build/mpi-bundle.sh): one host, shared memory, no fabrics
btl_base_warn_component_unused = 0
btl = self,vader,tcp
pml = ob1
osc = ^ucx,pt2pt
EOF
sed -i '/^mca_base_component_path/d' "$root/lib/$arch/pmix2/share/pmix-mca-params.conf" 2>/dev/null || true

cat > "$root/env.sh" <<'EOF'
# Source this file (bash): puts this relocated OpenMPI first. OPAL_PREFIX relocates every OpenMPI path (components in
# lib/x86_64-linux-gnu/openmpi/lib/openmpi3, help files in share/openmpi); the sysconfdir and PMIx's tree are named.
_b=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_a=x86_64-linux-gnu
export OPAL_PREFIX=$_b OPAL_SYSCONFDIR=$_b/etc/openmpi
# Debian's PMIx keeps absolute component and help paths: each is named (PMIX_PREFIX alone leaves them in /usr).
export PMIX_PREFIX=$_b/lib/$_a/pmix2 PMIX_PKGLIBDIR=$_b/lib/$_a/pmix2/lib/pmix PMIX_PKGDATADIR=$_b/lib/$_a/pmix2/share/pmix \
       PMIX_SYSCONFDIR=$_b/lib/$_a/pmix2/share
export PATH=$_b/bin:$PATH
export LD_LIBRARY_PATH=$_b/lib/$_a:$_b/lib/$_a/openmpi/lib:$_b/lib/$_a/pmix2/lib:$_b/lib/deps${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export MPI_LIBRARY=$_b/lib/$_a/libmpi.so.40   # SharpTitan's binding loads exactly this libmpi
export MPIRUN=$_b/bin/mpirun                  # sharptitan launch
# One host, no fabric: shared memory (vader) and loopback TCP; nothing probes InfiniBand, UCX or libfabric.
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_pml=ob1 OMPI_MCA_mtl=^ofi,psm,psm2 OMPI_MCA_osc=^ucx,pt2pt
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
# Containers and microVMs: no cross-memory attach (ptrace scope), no ssh needed for local ranks, no hwloc plugins.
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_plm=isolated OMPI_MCA_rmaps_base_oversubscribe=1
export HWLOC_PLUGINS_PATH=$_b/lib/hwloc
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset _b _a
EOF
find "$root" -type d -empty -delete; mkdir -p "$root/lib/hwloc"
tar -C "$stage" -cJf "$out" openmpi
echo "mpi-bundle: $out $(du -h "$out" | cut -f1) ($(du -sh "$root" | cut -f1) unpacked, $(find "$root" -type f | wc -l) files)"
