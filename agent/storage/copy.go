package storage

import (
	"bytes"
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// CopyFile makes dst hold src's data: a reflink where the file system
// can, else a copy that keeps holes. inPlace writes into an existing dst
// instead of creating it.
func CopyFile(src, dst string, inPlace bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	flags := os.O_RDWR | os.O_CREATE | os.O_EXCL
	if inPlace {
		flags = os.O_RDWR
	}
	out, err := os.OpenFile(dst, flags, 0o600)
	if err != nil {
		return err
	}
	if err := unix.IoctlFileClone(int(out.Fd()), int(in.Fd())); err == nil {
		return out.Close()
	}
	if err := out.Truncate(0); err == nil {
		err = SparseCopy(out, in)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		return err
	}
	out.Close()
	return err
}

// SparseCopy writes r into f, leaving holes where r has zero blocks.
func SparseCopy(f *os.File, r io.Reader) error {
	buf := make([]byte, 64<<10)
	zero := make([]byte, len(buf))
	var size int64
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if bytes.Equal(buf[:n], zero[:n]) {
				if _, err := f.Seek(int64(n), io.SeekCurrent); err != nil {
					return err
				}
			} else if _, err := f.Write(buf[:n]); err != nil {
				return err
			}
			size += int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return f.Truncate(size)
		}
		if err != nil {
			return err
		}
	}
}
