package backup

import (
	"os"
	"sort"
	"unsafe"

	"golang.org/x/sys/unix"
)

// extent is where the file system keeps a span of a file.
type extent struct {
	logical, physical, length int64
}

// Linux's FIEMAP ioctl (linux/fiemap.h): x/sys has no wrapper.
const (
	fsIocFiemap      = 0xC020660B
	fiemapFlagSync   = 0x1
	extentLast       = 0x1
	extentUnknown    = 0x2
	extentDelalloc   = 0x4
	extentEncoded    = 0x8
	extentUnwritten  = 0x800
	extentsPerCall   = 256
	fiemapHeaderSize = 32
	fiemapExtentSize = 56
)

// extents maps the file's data: every span that holds written data, in
// order of offset. Holes and preallocated (unwritten) spans read as zeros
// and are left out. ok is false where the file system cannot tell, or
// tells only approximately (an extent of unknown place or encoded data):
// then every span must be read.
func extents(f *os.File) (out []extent, ok bool) {
	buf := make([]byte, fiemapHeaderSize+extentsPerCall*fiemapExtentSize)
	var start uint64
	for {
		clear(buf)
		*(*uint64)(unsafe.Pointer(&buf[0])) = start
		*(*uint64)(unsafe.Pointer(&buf[8])) = ^uint64(0)
		*(*uint32)(unsafe.Pointer(&buf[16])) = fiemapFlagSync
		*(*uint32)(unsafe.Pointer(&buf[24])) = extentsPerCall
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), fsIocFiemap, uintptr(unsafe.Pointer(&buf[0]))); errno != 0 {
			return nil, false
		}
		mapped := *(*uint32)(unsafe.Pointer(&buf[20]))
		if mapped == 0 {
			return out, true
		}
		for i := range mapped {
			e := buf[fiemapHeaderSize+int(i)*fiemapExtentSize:]
			x := extent{logical: *(*int64)(unsafe.Pointer(&e[0])), physical: *(*int64)(unsafe.Pointer(&e[8])), length: *(*int64)(unsafe.Pointer(&e[16]))}
			flags := *(*uint32)(unsafe.Pointer(&e[40]))
			if flags&(extentUnknown|extentDelalloc|extentEncoded) != 0 {
				return nil, false
			}
			if flags&extentUnwritten == 0 {
				out = append(out, x)
			}
			start = uint64(x.logical + x.length)
			if flags&extentLast != 0 {
				return out, true
			}
		}
	}
}

// within is the part of the map inside [off, off+n), with offsets
// relative to off, adjacent spans that continue on disk merged.
func within(m []extent, off, n int64) []extent {
	i := sort.Search(len(m), func(i int) bool { return m[i].logical+m[i].length > off })
	var out []extent
	for ; i < len(m) && m[i].logical < off+n; i++ {
		e := m[i]
		lo, hi := max(e.logical, off), min(e.logical+e.length, off+n)
		x := extent{logical: lo - off, physical: e.physical + lo - e.logical, length: hi - lo}
		if k := len(out) - 1; k >= 0 && out[k].logical+out[k].length == x.logical && out[k].physical+out[k].length == x.physical {
			out[k].length += x.length
			continue
		}
		out = append(out, x)
	}
	return out
}

// span is a range of a chunk.
type span struct{ off, length int64 }

// changed are the spans of a chunk where two maps of it differ: one
// holds data where the other has none, or they keep it in different
// places. Where both keep the same place, a reflink snapshot still
// shares the base's blocks, and the data is the same without reading
// it.
func changed(cur, base []extent, n int64) []span {
	// Cut [0, n) at every extent boundary of both maps and compare each
	// piece's place.
	cuts := []int64{0, n}
	for _, m := range [][]extent{cur, base} {
		for _, e := range m {
			cuts = append(cuts, e.logical, e.logical+e.length)
		}
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i] < cuts[j] })
	var out []span
	for i := 0; i+1 < len(cuts); i++ {
		lo, hi := cuts[i], cuts[i+1]
		if lo == hi {
			continue
		}
		if place(cur, lo) != place(base, lo) {
			if k := len(out) - 1; k >= 0 && out[k].off+out[k].length == lo {
				out[k].length += hi - lo
			} else {
				out = append(out, span{lo, hi - lo})
			}
		}
	}
	return out
}

// place is where the map keeps offset, -1 for a hole.
func place(m []extent, off int64) int64 {
	i := sort.Search(len(m), func(i int) bool { return m[i].logical+m[i].length > off })
	if i < len(m) && m[i].logical <= off {
		return m[i].physical + off - m[i].logical
	}
	return -1
}

// holes splits a span of a chunk into the spans where the map has data
// and those where it has none.
func holes(m []extent, s span) (data, zero []span) {
	at := s.off
	for _, e := range within(m, s.off, s.length) {
		lo := e.logical + s.off
		if lo > at {
			zero = append(zero, span{at, lo - at})
		}
		data = append(data, span{lo, e.length})
		at = lo + e.length
	}
	if end := s.off + s.length; at < end {
		zero = append(zero, span{at, end - at})
	}
	return data, zero
}

// DataSpans calls fn, in order, for each span of the first size bytes of
// f that holds data as its file system maps it; the rest reads as zeros.
// Where the file system cannot tell (a block device, a file system
// without the map), all of it is one span.
func DataSpans(f *os.File, size int64, fn func(off, n int64) error) error {
	m, ok := extents(f)
	if !ok {
		return fn(0, size)
	}
	for _, e := range within(m, 0, size) {
		if err := fn(e.logical, e.length); err != nil {
			return err
		}
	}
	return nil
}
