// This file holds the connection side of wire.go's reader: which of the
// pool's connections started in the clear (and so can be read here), the
// server's cancellation key each was given, and the CancelRequest that ends
// a read given up half-way.

package redshiftsync

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/binary"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// wireHandshake says what the first bytes a connection wrote were.
type wireHandshake uint8

const (
	handshakeStart  wireHandshake = iota // nothing written yet, or only an SSLRequest
	handshakePlain                       // a StartupMessage, in the clear
	handshakeOpaque                      // anything else: TLS
)

// The request codes of a connection's first message (protocol-message-formats).
const (
	sslRequestCode    = 80877103
	gssencRequestCode = 80877104
)

// classifyFirstWrite returns what a connection's write p (the first, or the
// first after an SSLRequest) shows: an SSLRequest or GSSENCRequest leaves it
// undecided (the server may answer 'N', and lib/pq then starts in the
// clear); a StartupMessage of protocol 3.x is in the clear; anything else (a
// TLS ClientHello) is not.
func classifyFirstWrite(p []byte) wireHandshake {
	if len(p) < 8 {
		return handshakeOpaque
	}
	switch code := binary.BigEndian.Uint32(p[4:8]); {
	case code == sslRequestCode || code == gssencRequestCode:
		return handshakeStart
	case code>>16 == 3:
		return handshakePlain
	}
	return handshakeOpaque
}

// wireConns maps each lib/pq connection of New's pool whose protocol can be
// read here to its socket.
type wireConns struct {
	m     sync.Map    // driver.Conn -> *bufferedConn
	plain atomic.Bool // a connection was added: the pool's are in the clear
}

// seen reports whether a connection of the pool was read in the clear:
// the row path then selects the columns of pgSendFunc by name (wireExpr).
// A connection that is not (sslmode prefer or allow, the server's answer
// changed) reads those as lib/pq decodes them, which the decoders take too.
func (w *wireConns) seen() bool { return w != nil && w.plain.Load() }

// dialedKey is the context key under which sessionConnector asks the dialer
// for the socket of the connection being opened (a **bufferedConn).
type dialedKey struct{}

// add records c's socket, when the connection started in the clear, and
// forgets it when the socket is closed.
func (w *wireConns) add(dc driver.Conn, c *bufferedConn) {
	if w == nil || c == nil || c.handshake != handshakePlain {
		return
	}
	w.m.Store(dc, c)
	w.plain.Store(true)
	c.onClose = func() { w.m.Delete(dc) }
}

// lookup returns the socket of driver connection dc, or nil.
func (w *wireConns) lookup(dc any) *bufferedConn {
	if w == nil {
		return nil
	}
	if c, ok := w.m.Load(dc); ok {
		return c.(*bufferedConn)
	}
	return nil
}

// keySniffer reads the cancellation key (BackendKeyData) out of the bytes
// lib/pq reads while the connection starts, up to the first ReadyForQuery:
// lib/pq keeps its own copy to itself, and a query given up half-way is
// canceled with it as lib/pq cancels one
// (https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-CANCELING-REQUESTS).
type keySniffer struct {
	hdr    [5]byte
	nh     int // bytes of hdr read
	inBody bool
	typ    byte
	left   int    // bytes of the body still to come
	body   []byte // the BackendKeyData's body, as it comes
	done   bool
	pid    uint32
	key    []byte
}

// feed reads the next bytes the server sent.
func (s *keySniffer) feed(p []byte) {
	for !s.done && (len(p) > 0 || (s.inBody && s.left == 0)) {
		if !s.inBody {
			k := copy(s.hdr[s.nh:], p)
			s.nh += k
			p = p[k:]
			if s.nh < 5 {
				return
			}
			s.nh, s.typ, s.inBody = 0, s.hdr[0], true
			s.left = int(binary.BigEndian.Uint32(s.hdr[1:])) - 4
			s.body = s.body[:0]
			if s.left < 0 || (s.typ == 'K' && s.left > 4+256) {
				s.done = true // not the protocol: no key
				return
			}
		}
		k := min(s.left, len(p))
		if s.typ == 'K' {
			s.body = append(s.body, p[:k]...)
		}
		s.left -= k
		p = p[k:]
		if s.left == 0 {
			s.inBody = false
			switch s.typ {
			case 'K':
				if len(s.body) > 4 {
					s.pid, s.key = binary.BigEndian.Uint32(s.body), bytes.Clone(s.body[4:])
				}
			case 'Z', 'E':
				s.done, s.body = true, nil
			}
		}
	}
}

// cancelRequestCode is a CancelRequest's code.
const cancelRequestCode = 80877102

// cancelQuery asks the server, on a connection of its own, to cancel what
// c's backend runs, as lib/pq does for a canceled context, and waits (at
// most a few seconds) for the server to close that connection.
func (c *bufferedConn) cancelQuery() {
	if c.sniff.key == nil || c.redial == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := c.redial(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	msg := binary.BigEndian.AppendUint32(nil, uint32(12+len(c.sniff.key)))
	msg = binary.BigEndian.AppendUint32(msg, cancelRequestCode)
	msg = binary.BigEndian.AppendUint32(msg, c.sniff.pid)
	msg = append(msg, c.sniff.key...)
	if _, err := conn.Write(msg); err == nil {
		_, _ = io.Copy(io.Discard, conn)
	}
}
