// This file holds the read buffer under lib/pq: a dialer whose connections
// read the socket in large pieces, so that streaming rows costs a read
// system call per 64 KiB instead of per 4 KiB (lib/pq's own buffer). The
// same connections tell whether they started in the clear and keep the
// server's cancellation key, for wire.go's reader.

package redshiftsync

import (
	"bufio"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
)

// socketReadSize is the read buffer of every connection of New's pool.
// lib/pq reads through a 4 KiB bufio.Reader, which on a long result set is a
// read system call every 16 rows of 250 bytes: the benchmark's profile put
// 14% of the row path's CPU in those calls (BENCHMARKS.md, issue 15). Reading
// 64 KiB at a time makes them 16 times fewer; the extra copy from this
// buffer into lib/pq's costs far less than the calls it saves. 64 KiB per
// connection, at most 2×MaxParallelWorkers+1 connections.
const socketReadSize = 64 << 10

// bufferedDialer opens connections through d (lib/pq's default when nil)
// and reads each through a socketReadSize buffer.
type bufferedDialer struct {
	d pq.Dialer // nil: a net.Dialer
}

func (b bufferedDialer) Dial(network, address string) (net.Conn, error) {
	return b.DialContext(context.Background(), network, address)
}

func (b bufferedDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return b.DialContext(ctx, network, address)
}

func (b bufferedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := b.dial(ctx, network, address)
	if err != nil {
		return nil, err
	}
	bc := &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, socketReadSize)}
	bc.redial = func(ctx context.Context) (net.Conn, error) { return b.dial(ctx, network, address) }
	if p, ok := ctx.Value(dialedKey{}).(**bufferedConn); ok {
		*p = bc // for sessionConnector (see wireConns)
	}
	return bc, nil
}

// dial opens a socket through b.d.
func (b bufferedDialer) dial(ctx context.Context, network, address string) (net.Conn, error) {
	switch d := b.d.(type) {
	case nil:
		var nd net.Dialer
		return nd.DialContext(ctx, network, address)
	case pq.DialerContext:
		return d.DialContext(ctx, network, address)
	default:
		if dl, ok := ctx.Deadline(); ok {
			return d.DialTimeout(network, address, time.Until(dl))
		}
		return d.Dial(network, address)
	}
}

// bufferedConn is a net.Conn whose reads go through r. Each Read makes at
// most one read of the socket and returns what it holds, so nothing waits
// for more bytes than the server has sent (the one-byte answer to an
// SSLRequest, say); deadlines and writes go to the socket.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader

	// handshake says whether the connection's protocol is in the clear,
	// which wire.go's reader needs; it is decided by the first writes.
	handshake wireHandshake
	closeOnce sync.Once
	onClose   func() // set once the connection is open (wireConns.add)
	closed    atomic.Bool
	sniff     keySniffer                              // the cancellation key, read as lib/pq starts
	redial    func(context.Context) (net.Conn, error) // a socket to the same server, for a CancelRequest

	// The wire reader's state (wire.go), used only under database/sql's
	// Conn.Raw, one query at a time.
	broken  bool   // an exchange did not end at ReadyForQuery
	gaveUp  bool   // the exchange was given up mid-result
	out     []byte // the messages being written
	mark    int    // the length field of the message being written
	pending int    // the body of the last message read, still buffered
	big     []byte // a message larger than r's buffer
	cols    []wireColumn
	row     [][]byte
	params  [][]byte
}

func (c *bufferedConn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.handshake == handshakePlain && !c.sniff.done {
		c.sniff.feed(p[:n])
	}
	return n, err
}

func (c *bufferedConn) Write(p []byte) (int, error) {
	if c.handshake == handshakeStart {
		c.handshake = classifyFirstWrite(p)
	}
	return c.Conn.Write(p)
}

func (c *bufferedConn) Close() error {
	c.closed.Store(true)
	c.closeOnce.Do(func() {
		if c.onClose != nil {
			c.onClose()
		}
	})
	return c.Conn.Close()
}
