package agent

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// dataSpans calls fn, in order, for each span of the first size bytes of
// f that may hold data, as SEEK_DATA and SEEK_HOLE tell them; what lies
// between reads as zeros. Where they cannot tell (a file system without
// them), all of it is one span; a block device answers so by itself.
func dataSpans(f *os.File, size int64, fn func(off, n int64) error) error {
	for at := int64(0); at < size; {
		lo, err := f.Seek(at, unix.SEEK_DATA)
		switch {
		case errors.Is(err, unix.ENXIO):
			return nil // only a hole is left
		case err != nil:
			return fn(at, size-at)
		case lo >= size:
			return nil
		}
		hi, err := f.Seek(lo, unix.SEEK_HOLE)
		if err != nil || hi > size {
			hi = size
		}
		if err := fn(lo, hi-lo); err != nil {
			return err
		}
		at = hi
	}
	return nil
}
