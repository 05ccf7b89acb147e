package backup

import (
	"bufio"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"strata/agent/proto"
	"strata/agent/proto/bucket"
	"strata/agent/storage"
)

// A shipment to another node is one TLS connection per volume: the
// receiving agent listens with a certificate its controller made for
// this volume alone, and the sending agent checks that certificate's
// fingerprint and proves itself with a token from the same controller.
// After a header line (shipHeader, JSON) come records, each a recordHead
// and its payload; the receiver answers the end record with one JSON
// line (shipAnswer) once the snapshot is committed.
type shipHeader struct {
	Token       string `json:"token"`
	SizeBytes   int64  `json:"size_bytes"`
	Incremental bool   `json:"incremental,omitempty"`
}

type shipAnswer struct {
	Error string `json:"error,omitempty"`
}

// Kinds of records.
const (
	recordRaw  = 'd' // Length bytes of data at Offset
	recordZstd = 'z' // the same, compressed with zstd to Payload bytes
	recordHole = 'h' // Length bytes of zeros at Offset
	recordEnd  = 'e' // the stream's end; Offset is the records before it
)

type recordHead struct {
	Kind    byte
	Offset  int64
	Length  uint32
	Payload uint32
}

const recordHeadSize = 1 + 8 + 4 + 4

func (h recordHead) put(b []byte) {
	b[0] = h.Kind
	binary.BigEndian.PutUint64(b[1:], uint64(h.Offset))
	binary.BigEndian.PutUint32(b[9:], h.Length)
	binary.BigEndian.PutUint32(b[13:], h.Payload)
}

func readHead(r io.Reader) (recordHead, error) {
	var b [recordHeadSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return recordHead{}, err
	}
	return recordHead{Kind: b[0], Offset: int64(binary.BigEndian.Uint64(b[1:])), Length: binary.BigEndian.Uint32(b[9:]), Payload: binary.BigEndian.Uint32(b[13:])}, nil
}

// Send streams a snapshot to a receiving agent.
type Send struct {
	// Path is the snapshot's file; BasePath, when set, the file of the
	// snapshot the receiver holds already: only what differs is sent.
	Path, BasePath string
	Address        string
	Token          string
	Fingerprint    string
	Progress       func(Progress)
}

// dialTimeout bounds the connection and TLS handshake.
const dialTimeout = 10 * time.Second

// Run sends every span that holds data (against a base: every span that
// changed, holes included) and waits for the receiver's commit.
func (s Send) Run(ctx context.Context) (Progress, error) {
	src, err := open(s.Path)
	if err != nil {
		return Progress{}, fmt.Errorf("open snapshot: %w", err)
	}
	defer src.f.Close()
	var base *source
	if s.BasePath != "" {
		b, err := open(s.BasePath)
		if err != nil {
			return Progress{}, fmt.Errorf("open the base snapshot: %w", err)
		}
		defer b.f.Close()
		if b.size != src.size {
			return Progress{}, fmt.Errorf("the base snapshot holds %d bytes, the snapshot %d", b.size, src.size)
		}
		base = &b
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: dialTimeout}, Config: &tls.Config{
		// The peer is known by the fingerprint its controller gave, not by
		// a name a CA vouches for.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || subtle.ConstantTimeCompare([]byte(proto.Fingerprint(cs.PeerCertificates[0].Raw)), []byte(s.Fingerprint)) != 1 {
				return errors.New("the receiver's certificate is not the one its controller made for this shipment")
			}
			return nil
		},
		MinVersion: tls.VersionTLS13,
	}}
	conn, err := d.DialContext(ctx, "tcp", s.Address)
	if err != nil {
		return Progress{}, fmt.Errorf("connect to the receiving node at %s: %w", s.Address, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c := &counters{total: src.size, report: s.Progress}
	w := bufio.NewWriterSize(conn, 1<<20)
	if err := json.NewEncoder(w).Encode(shipHeader{Token: s.Token, SizeBytes: src.size, Incremental: base != nil}); err != nil {
		return c.progress(), err
	}
	records, err := s.records(ctx, src, base, w, c)
	if err != nil {
		return c.progress(), err
	}
	var head [recordHeadSize]byte
	recordHead{Kind: recordEnd, Offset: records}.put(head[:])
	if _, err := w.Write(head[:]); err != nil {
		return c.progress(), err
	}
	if err := w.Flush(); err != nil {
		return c.progress(), fmt.Errorf("send to %s: %w", s.Address, err)
	}
	var ans shipAnswer
	if err := json.NewDecoder(io.LimitReader(conn, 64<<10)).Decode(&ans); err != nil {
		return c.progress(), fmt.Errorf("the receiving node did not confirm the snapshot: %w", err)
	}
	if ans.Error != "" {
		return c.progress(), fmt.Errorf("the receiving node: %s", ans.Error)
	}
	return c.progress(), ctx.Err()
}

// records writes the snapshot's records, chunk by chunk, and counts them.
func (s Send) records(ctx context.Context, src source, base *source, w io.Writer, c *counters) (int64, error) {
	var records int64
	var head [recordHeadSize]byte
	put := func(h recordHead, payload []byte) error {
		h.put(head[:])
		if _, err := w.Write(head[:]); err != nil {
			return fmt.Errorf("send to %s: %w", s.Address, err)
		}
		if _, err := w.Write(payload); err != nil {
			return fmt.Errorf("send to %s: %w", s.Address, err)
		}
		records++
		c.sent.Add(int64(recordHeadSize + len(payload)))
		return nil
	}
	for off := int64(0); off < src.size; off += bucket.ChunkSize {
		if err := ctx.Err(); err != nil {
			return records, err
		}
		n := chunkLen(off, src.size)
		data, zeros, err := shipSpans(src, base, off, n, c)
		if err != nil {
			return records, err
		}
		for _, z := range zeros {
			if err := put(recordHead{Kind: recordHole, Offset: off + z.off, Length: uint32(z.length)}, nil); err != nil {
				return records, err
			}
		}
		for _, d := range data {
			buf, err := src.read(off, d, c)
			if err != nil {
				return records, err
			}
			if zero(buf) && base == nil {
				continue // the receiver's file starts as a hole
			}
			h := recordHead{Kind: recordRaw, Offset: off + d.off, Length: uint32(len(buf))}
			payload, kind := encode(buf)
			if kind == bucket.ContentZstd {
				h.Kind = recordZstd
			}
			h.Payload = uint32(len(payload))
			if err := put(h, payload); err != nil {
				return records, err
			}
		}
		c.chunkDone(n)
	}
	return records, nil
}

// shipSpans are the spans of the chunk at off to send as data and those
// to send as holes. A full shipment sends what holds data; against a
// base, what the file systems' maps say changed (or, without maps, the
// blocks whose bytes differ).
func shipSpans(src source, base *source, off, n int64, c *counters) (data, zeros []span, err error) {
	cur := within(src.m, off, n)
	switch {
	case base == nil && src.mapped:
		for _, e := range cur {
			data = append(data, span{e.logical, e.length})
		}
		return data, nil, nil
	case base == nil:
		return []span{{0, n}}, nil, nil
	case src.mapped && base.mapped:
		for _, sp := range changed(cur, within(base.m, off, n), n) {
			d, z := holes(cur, sp)
			data, zeros = append(data, d...), append(zeros, z...)
		}
		return data, zeros, nil
	}
	now, err := src.read(off, span{0, n}, c)
	if err != nil {
		return nil, nil, err
	}
	old, err := base.read(off, span{0, n}, c)
	if err != nil {
		return nil, nil, err
	}
	return differing(now, old), nil, nil
}

// Receive writes a snapshot sent by another node's agent.
type Receive struct {
	// Path is the partial snapshot file written; BasePath, when set, the
	// snapshot the sender's changes apply to.
	Path, BasePath string
	Token          string
	// Wait is how long the sender may take to connect.
	Wait     time.Duration
	Log      *slog.Logger
	Progress func(Progress)
	// Commit makes the written file the snapshot; the sender hears of
	// success only after it.
	Commit func() error
}

// headerTimeout is how long a connection may take to send its header:
// a stranger that says nothing does not hold the listener.
const headerTimeout = 10 * time.Second

// Run accepts connections on ln until one brings the token, and writes
// what it sends. Connections without the token are closed and logged.
func (r Receive) Run(ctx context.Context, ln net.Listener) (Progress, error) {
	defer ln.Close()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	if r.Wait > 0 {
		timer := time.AfterFunc(r.Wait, func() { ln.Close() })
		defer timer.Stop()
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return Progress{}, ctx.Err()
			}
			return Progress{}, fmt.Errorf("no sender connected within %s: %w", r.Wait, err)
		}
		_ = conn.SetDeadline(time.Now().Add(headerTimeout))
		br := bufio.NewReaderSize(conn, 1<<20)
		h, err := readShipHeader(br)
		if err == nil && subtle.ConstantTimeCompare([]byte(h.Token), []byte(r.Token)) != 1 {
			err = errors.New("it did not bring this shipment's token")
		}
		if err != nil {
			r.Log.Warn("refused a connection to a snapshot receiver", "peer", conn.RemoteAddr().String(), "reason", err.Error())
			conn.Close()
			continue
		}
		ln.Close() // one sender per shipment
		_ = conn.SetDeadline(time.Time{})
		return r.serve(ctx, conn, br, h)
	}
}

// maxHeader bounds the header line.
const maxHeader = 4 << 10

func readShipHeader(br *bufio.Reader) (shipHeader, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return shipHeader{}, fmt.Errorf("unreadable header: %w", err)
	}
	if len(line) > maxHeader {
		return shipHeader{}, errors.New("header too long")
	}
	var h shipHeader
	if err := json.Unmarshal(line, &h); err != nil {
		return shipHeader{}, fmt.Errorf("unreadable header: %w", err)
	}
	if h.SizeBytes < 0 {
		return shipHeader{}, errors.New("negative size")
	}
	return h, nil
}

// idleTimeout ends a shipment whose sender stopped sending.
const idleTimeout = time.Minute

func (r Receive) serve(ctx context.Context, conn net.Conn, br *bufio.Reader, h shipHeader) (Progress, error) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	answer := func(err error) {
		a := shipAnswer{}
		if err != nil {
			a.Error = err.Error()
		}
		_ = json.NewEncoder(conn).Encode(a)
	}
	if h.Incremental != (r.BasePath != "") {
		err := errors.New("the sender and the receiver disagree on the base of the shipment")
		answer(err)
		return Progress{}, err
	}
	c := &counters{total: h.SizeBytes, report: r.Progress}
	err := r.write(conn, br, h, c)
	if err == nil {
		err = r.Commit()
	}
	answer(err)
	return c.progress(), err
}

// write writes the records into the partial file and syncs it.
func (r Receive) write(conn net.Conn, br *bufio.Reader, h shipHeader, c *counters) error {
	_ = os.Remove(r.Path) // what an interrupted attempt wrote
	if r.BasePath != "" {
		if err := storage.CopyFile(r.BasePath, r.Path, false); err != nil {
			return fmt.Errorf("start from the base snapshot: %w", err)
		}
	}
	f, err := os.OpenFile(r.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(h.SizeBytes); err != nil {
		return err
	}
	buf := make([]byte, 0, maxObject)
	data := make([]byte, 0, 2*bucket.ChunkSize)
	var records int64
	for {
		_ = conn.SetReadDeadline(time.Now().Add(idleTimeout))
		rh, err := readHead(br)
		if err != nil {
			return fmt.Errorf("the stream ended early: %w", err)
		}
		if rh.Kind == recordEnd {
			if rh.Offset != records {
				return fmt.Errorf("the sender sent %d records, %d arrived", rh.Offset, records)
			}
			c.done.Store(h.SizeBytes)
			return f.Sync()
		}
		records++
		if rh.Offset < 0 || rh.Length > 2*bucket.ChunkSize || rh.Offset+int64(rh.Length) > h.SizeBytes || int64(rh.Payload) > maxObject {
			return fmt.Errorf("a record of %d bytes at %d does not fit the %d-byte volume", rh.Length, rh.Offset, h.SizeBytes)
		}
		c.read.Add(int64(recordHeadSize) + int64(rh.Payload))
		switch rh.Kind {
		case recordHole:
			if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, rh.Offset, int64(rh.Length)); err != nil {
				if _, err := f.WriteAt(make([]byte, rh.Length), rh.Offset); err != nil {
					return err
				}
			}
		case recordRaw, recordZstd:
			payload := buf[:rh.Payload]
			if _, err := io.ReadFull(br, payload); err != nil {
				return fmt.Errorf("the stream ended early: %w", err)
			}
			out := payload
			if rh.Kind == recordZstd {
				if out, err = decoder.DecodeAll(payload, data[:0]); err != nil {
					return fmt.Errorf("a record at %d is corrupt: %w", rh.Offset, err)
				}
			}
			if len(out) != int(rh.Length) {
				return fmt.Errorf("a record at %d holds %d bytes, its head says %d", rh.Offset, len(out), rh.Length)
			}
			if _, err := f.WriteAt(out, rh.Offset); err != nil {
				return err
			}
		default:
			return fmt.Errorf("a record of unknown kind %q", rh.Kind)
		}
		c.done.Store(min(h.SizeBytes, rh.Offset+int64(rh.Length)))
		if c.report != nil {
			c.report(c.progress())
		}
	}
}
