// This file holds the read buffer under lib/pq: a dialer whose connections
// read the socket in large pieces, so that streaming rows costs a read
// system call per 64 KiB instead of per 4 KiB (lib/pq's own buffer).

package redshiftsync

import (
	"bufio"
	"context"
	"net"
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
	var (
		c   net.Conn
		err error
	)
	switch d := b.d.(type) {
	case nil:
		var nd net.Dialer
		c, err = nd.DialContext(ctx, network, address)
	case pq.DialerContext:
		c, err = d.DialContext(ctx, network, address)
	default:
		if dl, ok := ctx.Deadline(); ok {
			c, err = d.DialTimeout(network, address, time.Until(dl))
		} else {
			c, err = d.Dial(network, address)
		}
	}
	if err != nil {
		return nil, err
	}
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, socketReadSize)}, nil
}

// bufferedConn is a net.Conn whose reads go through r. Each Read makes at
// most one read of the socket and returns what it holds, so nothing waits
// for more bytes than the server has sent (the one-byte answer to an
// SSLRequest, say); deadlines and writes go to the socket.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
