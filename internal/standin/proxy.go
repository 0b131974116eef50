// This file holds the wire-protocol proxy: it accepts PostgreSQL protocol
// connections, relays the startup and authentication to the upstream server
// as they are (the client authenticates to the upstream, with its own user
// and password), then relays every message both ways, rewriting the SQL of
// Query and Parse messages (analyze.go, rewrite.go) and the errors the upstream answers
// rewritten SQL with.

package standin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Server is a running stand-in.
type Server struct {
	upstream *pgconn.Config
	rawURL   *url.URL
	ln       net.Listener
	log      *slog.Logger

	mu        sync.Mutex
	installed map[string]*installation // by database name
	unloadCfg *UnloadConfig            // nil until EnableUnload (unload_exec.go)
	conns     map[net.Conn]bool
	closed    bool
	wg        sync.WaitGroup
}

// installation is the stand-in's schema in one upstream database, created
// once.
type installation struct {
	once sync.Once
	err  error
}

// Listen starts a stand-in on addr (host:port; port 0 picks one) in front of
// the PostgreSQL server at upstream, a postgres:// URL whose role may create
// schemas, functions and views (a superuser: the views read other sessions'
// activity and every table's row count). It serves until Close.
func Listen(upstream, addr string, log *slog.Logger) (*Server, error) {
	cfg, err := pgconn.ParseConfig(upstream)
	if err != nil {
		return nil, fmt.Errorf("redshift-standin: upstream URL: %w", err)
	}
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("redshift-standin: upstream URL: %w", err)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("redshift-standin: listen on %s: %w", addr, err)
	}
	s := &Server{upstream: cfg, rawURL: u, ln: ln, log: log, installed: map[string]*installation{}, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// URL returns a postgres:// URL that reaches the upstream through the
// stand-in: the upstream URL's user and database, the stand-in's address,
// sslmode=disable, and never a password (the client gives the upstream's).
func (s *Server) URL() string {
	u := url.URL{Scheme: "postgres", Host: s.ln.Addr().String(), Path: "/" + s.upstream.Database}
	if s.upstream.User != "" {
		u.User = url.User(s.upstream.User)
	}
	u.RawQuery = "sslmode=disable"
	return u.String()
}

// Close stops accepting, closes every connection and waits for them.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			if err := s.handle(c); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Debug("connection ended", "error", err)
			}
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			_ = c.Close()
		}()
	}
}

// dialUpstream opens a TCP connection to the upstream server.
func (s *Server) dialUpstream() (net.Conn, error) {
	d := net.Dialer{Timeout: 30 * time.Second}
	return d.Dial("tcp", net.JoinHostPort(s.upstream.Host, strconv.Itoa(int(s.upstream.Port))))
}

// ensureInstalled creates the stand-in's schema in database db, once.
func (s *Server) ensureInstalled(db string) error {
	s.mu.Lock()
	in := s.installed[db]
	if in == nil {
		in = &installation{}
		s.installed[db] = in
	}
	s.mu.Unlock()
	in.once.Do(func() {
		cfg := s.upstream.Copy()
		cfg.Database = db
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgconn.ConnectConfig(ctx, cfg)
		if err != nil {
			in.err = err
			return
		}
		defer conn.Close(ctx)
		_, in.err = conn.Exec(ctx, "BEGIN;\n"+installSQL()+"COMMIT;").ReadAll()
	})
	return in.err
}

// handle serves one client connection.
func (s *Server) handle(c net.Conn) error {
	be := pgproto3.NewBackend(c, c)
	var startup *pgproto3.StartupMessage
	for startup == nil {
		msg, err := be.ReceiveStartupMessage()
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest, *pgproto3.GSSEncRequest:
			// No TLS between the client and the stand-in (a test fixture on
			// the loopback): 'N', as a server without TLS answers.
			if _, err := c.Write([]byte{'N'}); err != nil {
				return err
			}
		case *pgproto3.CancelRequest:
			// Pass the cancel request on: the client holds the upstream
			// backend's key (BackendKeyData is relayed as it is).
			u, err := s.dialUpstream()
			if err != nil {
				return err
			}
			defer u.Close()
			buf, err := m.Encode(nil)
			if err != nil {
				return err
			}
			_, err = u.Write(buf)
			return err
		case *pgproto3.StartupMessage:
			startup = m
		default:
			return fmt.Errorf("unexpected startup message %T", msg)
		}
	}
	u, err := s.dialUpstream()
	if err != nil {
		be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "08006", Message: "redshift-standin: cannot reach the upstream server: " + err.Error()})
		_ = be.Flush()
		return err
	}
	s.mu.Lock()
	s.conns[u] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, u)
		s.mu.Unlock()
		_ = u.Close()
	}()
	fe := pgproto3.NewFrontend(u, u)
	fe.Send(startup)
	if err := fe.Flush(); err != nil {
		return err
	}
	db := startup.Parameters["database"]
	if db == "" {
		db = startup.Parameters["user"]
	}

	// The session parameters the upstream reports (DateStyle,
	// IntervalStyle, TimeZone, …), for an UNLOAD's own connection.
	params := map[string]string{}
	// Authentication, in turn: each request from the upstream goes to the
	// client, and the client's answer back, until ReadyForQuery.
	for {
		msg, err := fe.Receive()
		if err != nil {
			return err
		}
		answer := false
		switch m := msg.(type) {
		case *pgproto3.AuthenticationCleartextPassword, *pgproto3.AuthenticationMD5Password, *pgproto3.AuthenticationSASL, *pgproto3.AuthenticationSASLContinue:
			answer = true
			if err := be.SetAuthType(fe.GetAuthType()); err != nil {
				return err
			}
		case *pgproto3.ParameterStatus:
			params[m.Name] = m.Value
			msg = redshiftParameter(m)
		case *pgproto3.ErrorResponse:
			be.Send(m)
			return be.Flush()
		case *pgproto3.ReadyForQuery:
			// The client may query now: first make sure its database has
			// the stand-in's schema (ReadyForQuery waits for it).
			if err := s.ensureInstalled(db); err != nil {
				be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "XX000", Message: "redshift-standin: cannot create schema " + Schema + " in database " + db + ": " + err.Error()})
				_ = be.Flush()
				return err
			}
			be.Send(m)
			if err := be.Flush(); err != nil {
				return err
			}
			return s.relay(c, u, be, fe, startup, params)
		}
		if !answer {
			// Buffered (Send encodes at once: pgproto3 reuses a received
			// message on the next Receive) and flushed with ReadyForQuery.
			be.Send(msg)
			continue
		}
		be.Send(msg)
		if err := be.Flush(); err != nil {
			return err
		}
		reply, err := be.Receive()
		if err != nil {
			return err
		}
		fe.Send(reply)
		if err := fe.Flush(); err != nil {
			return err
		}
	}
}

// redshiftParameter returns the ParameterStatus Redshift would send:
// server_version is 8.0.2 (r_VERSION).
func redshiftParameter(m *pgproto3.ParameterStatus) *pgproto3.ParameterStatus {
	if m.Name == "server_version" {
		return &pgproto3.ParameterStatus{Name: m.Name, Value: "8.0.2"}
	}
	return m
}

// conn is the relay state of one client connection.
type conn struct {
	mu       sync.Mutex
	next     int
	rejected map[int]*Rejection
	// floatDigits is the session's extra_float_digits, as the client's SET
	// statements leave it (see render.go).
	floatDigits atomic.Int32
	// floatSet says the client gave extra_float_digits (at startup or
	// with SET): else its session has the upstream's default.
	floatSet atomic.Bool
	// rendered are the columns of the current result whose values the
	// relay renders as Redshift does (see renderedColumns): from the
	// last RowDescription, which precedes a simple query's rows and, for
	// lib/pq's extended protocol, answers the Describe before Execute.
	rendered []int
	// unload is the connection's UNLOAD bookkeeping (unload_exec.go).
	unload unloadState
}

// markerPrefix names the column that a rejected text is replaced with: the
// upstream fails on it exactly where Redshift fails (at Parse, aborting the
// transaction), and the relay replaces the upstream's error with Redshift's.
const markerPrefix = "redshift_standin_reject_"

var markerRE = regexp.MustCompile(`^column "` + markerPrefix + `(\d+)" does not exist$`)

// reject records r and returns the SQL that makes the upstream fail in its
// place.
func (cs *conn) reject(r *Rejection) string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.next++
	cs.rejected[cs.next] = r
	return `SELECT "` + markerPrefix + strconv.Itoa(cs.next) + `"`
}

func (cs *conn) take(id int) *Rejection {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	r := cs.rejected[id]
	delete(cs.rejected, id)
	return r
}

// relay runs the two directions of an authenticated connection until either
// side ends.
func (s *Server) relay(c, u net.Conn, be *pgproto3.Backend, fe *pgproto3.Frontend, startup *pgproto3.StartupMessage, params map[string]string) error {
	cs := &conn{rejected: map[int]*Rejection{}}
	cs.unload.params = params
	cs.unload.user, cs.unload.db = startup.Parameters["user"], startup.Parameters["database"]
	if cs.unload.db == "" {
		cs.unload.db = cs.unload.user
	}
	if v, err := strconv.Atoi(startup.Parameters["extra_float_digits"]); err == nil {
		cs.floatDigits.Store(int32(v))
		cs.floatSet.Store(true)
	}
	errc := make(chan error, 2)
	go func() { errc <- s.clientToUpstream(cs, be, fe) }()
	go func() { errc <- s.upstreamToClient(cs, be, fe) }()
	err := <-errc
	// Unblock the other direction.
	_ = c.Close()
	_ = u.Close()
	<-errc
	return err
}

func (s *Server) clientToUpstream(cs *conn, be *pgproto3.Backend, fe *pgproto3.Frontend) error {
	for {
		msg, err := be.Receive()
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.Query:
			m.String = s.sqlFor(cs, m.String)
		case *pgproto3.Parse:
			m.Query = s.sqlFor(cs, m.Query)
		case *pgproto3.Terminate:
			fe.Send(m)
			_ = fe.Flush()
			return io.EOF
		}
		fe.Send(msg)
		if err := fe.Flush(); err != nil {
			return err
		}
	}
}

// sqlFor returns what to send upstream for a client's SQL text.
func (s *Server) sqlFor(cs *conn, sql string) string {
	if out, ok := s.unloadSQL(cs, sql); ok {
		return out
	}
	res := Analyze(sql)
	if res.Reject != nil {
		s.log.Debug("rejected", "rule", res.Reject.Rule, "sql", sql)
		return cs.reject(res.Reject)
	}
	if strings.Contains(res.SQL, lastUnloadCall) {
		res.SQL = strings.ReplaceAll(res.SQL, lastUnloadCall,
			Schema+".pg_last_unload_count("+strconv.FormatInt(cs.unload.last.Load(), 10)+")")
	}
	if res.FloatDigits != nil {
		cs.floatDigits.Store(int32(*res.FloatDigits))
		cs.floatSet.Store(true)
	}
	return res.SQL
}

func (s *Server) upstreamToClient(cs *conn, be *pgproto3.Backend, fe *pgproto3.Frontend) error {
	for {
		msg, err := fe.Receive()
		if err != nil {
			return err
		}
		msg = cs.unloadReply(msg)
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			for _, n := range fixError(cs, m) {
				be.Send(n)
			}
		case *pgproto3.ParameterStatus:
			cs.unload.mu.Lock()
			cs.unload.params[m.Name] = m.Value
			cs.unload.mu.Unlock()
			be.Send(redshiftParameter(m))
		case *pgproto3.RowDescription:
			cs.rendered = renderedColumns(m)
			be.Send(m)
		case *pgproto3.DataRow:
			renderValues(m, cs.rendered, int(cs.floatDigits.Load()))
			be.Send(m)
		default:
			be.Send(msg)
		}
		// Send what has arrived once nothing more is buffered: a result's
		// rows go out in few writes.
		if fe.ReadBufferLen() == 0 {
			if err := be.Flush(); err != nil {
				return err
			}
		}
	}
}

var (
	toVarcharRE = regexp.MustCompile(`^function ` + Schema + `\.to_varchar\((.*)\) does not exist$`)
	viewDenied  = regexp.MustCompile(`^permission denied for view `)
)

// fixError returns the messages that stand for the upstream's error m: the
// rejection it was made for (with its INFO notices), or m with Redshift's
// wording where the rewrite shows through.
func fixError(cs *conn, m *pgproto3.ErrorResponse) []pgproto3.BackendMessage {
	if sm := markerRE.FindStringSubmatch(m.Message); sm != nil && m.Code == "42703" {
		id, _ := strconv.Atoi(sm[1])
		if r := cs.take(id); r != nil {
			var out []pgproto3.BackendMessage
			for _, info := range r.Info {
				out = append(out, &pgproto3.NoticeResponse{Severity: "INFO", SeverityUnlocalized: "INFO", Code: "00000", Message: info})
			}
			return append(out, &pgproto3.ErrorResponse{Severity: m.Severity, SeverityUnlocalized: m.SeverityUnlocalized,
				Code: r.Code, Message: r.Message, Position: int32(r.Position)})
		}
	}
	e := *m
	// Positions refer to the rewritten text, which the client never saw.
	e.Position = 0
	if sm := toVarcharRE.FindStringSubmatch(e.Message); sm != nil && e.Code == "42883" {
		e.Code, e.Message, e.Hint = "42846", "cannot cast type "+sm[1]+" to character varying", ""
	}
	e.Message = strings.ReplaceAll(e.Message, missingSchema+".", "")
	e.Message = strings.ReplaceAll(e.Message, Schema+".", "")
	// PostgreSQL 8.0.2 says relation for views too.
	e.Message = viewDenied.ReplaceAllString(e.Message, "permission denied for relation ")
	return []pgproto3.BackendMessage{&e}
}
