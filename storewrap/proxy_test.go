package storewrap

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lib/pq"
)

// proxyMode is how a testProxy treats a connection.
type proxyMode int32

const (
	// proxyForward forwards both directions unchanged.
	proxyForward proxyMode = iota
	// proxyBlackhole accepts connections and never replies, like a server
	// that hangs or a network that drops packets after the handshake.
	proxyBlackhole
	// proxyDropNotifications forwards everything except the server's
	// NotificationResponse messages, as a transaction-pooling proxy does
	// in effect: LISTEN succeeds, and nothing arrives.
	proxyDropNotifications
)

// testProxy is a TCP proxy on 127.0.0.1 in front of the test server, so
// that a test can cut, stall or filter a listener's connection.
type testProxy struct {
	t        *testing.T
	ln       net.Listener
	target   string
	mode     atomic.Int32
	accepted atomic.Int64

	mu      sync.Mutex
	conns   []net.Conn // guarded by mu
	stopped bool       // guarded by mu
	wg      sync.WaitGroup
}

// startProxy starts a proxy to the server of dsn and returns it with the
// DSN that connects through it. The proxy stops when the test ends.
func startProxy(t *testing.T, dsn string, mode proxyMode) (*testProxy, string) {
	t.Helper()
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		t.Fatalf("parse the test DSN: %v", err)
	}
	if strings.Contains(cfg.Host, ",") || strings.HasPrefix(cfg.Host, "/") {
		t.Fatalf("the test DSN names host %q; the proxy needs one TCP host", cfg.Host)
	}
	host := cfg.Host
	if host == "" {
		host = "localhost"
	}
	port := cfg.Port
	if port == 0 {
		port = 5432
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &testProxy{t: t, ln: ln, target: net.JoinHostPort(host, strconv.Itoa(int(port)))}
	p.mode.Store(int32(mode))
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.stop)

	// The proxy reads the server's messages, so the connection must not be
	// encrypted.
	proxied := dsnWith(t, dsn, map[string]string{
		"host":    "127.0.0.1",
		"port":    strconv.Itoa(ln.Addr().(*net.TCPAddr).Port),
		"sslmode": "disable",
	})
	return p, proxied
}

func (p *testProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		if !p.track(client) {
			return
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

// track records c so that stop closes it, and reports false, closing c,
// when the proxy has stopped.
func (p *testProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		_ = c.Close()
		return false
	}
	p.conns = append(p.conns, c)
	return true
}

func (p *testProxy) serve(client net.Conn) {
	defer p.wg.Done()
	mode := proxyMode(p.mode.Load())
	if mode == proxyBlackhole {
		_, _ = io.Copy(io.Discard, client)
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}
	if !p.track(server) {
		_ = client.Close()
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_, _ = io.Copy(server, client)
		_ = server.Close()
	}()
	if mode == proxyDropNotifications {
		_ = copyDroppingNotifications(client, server)
	} else {
		_, _ = io.Copy(client, server)
	}
	_ = client.Close()
}

// copyDroppingNotifications copies the server's messages to client,
// except NotificationResponse ('A'). With sslmode=disable every message the
// server sends has a one-byte type and a four-byte length that counts
// itself.
func copyDroppingNotifications(client io.Writer, server io.Reader) error {
	r := bufio.NewReader(server)
	var header [5]byte
	for {
		if _, err := io.ReadFull(r, header[:]); err != nil {
			return err
		}
		length := binary.BigEndian.Uint32(header[1:])
		if length < 4 {
			return fmt.Errorf("invalid message length %d", length)
		}
		body := make([]byte, length-4)
		if _, err := io.ReadFull(r, body); err != nil {
			return err
		}
		if header[0] == 'A' {
			continue
		}
		if _, err := client.Write(append(header[:], body...)); err != nil {
			return err
		}
	}
}

// stop closes the listening socket and every connection, so that the
// server looks gone: connections drop and new ones are refused. It waits
// for the proxy's goroutines.
func (p *testProxy) stop() {
	p.mu.Lock()
	conns := p.conns
	p.conns, p.stopped = nil, true
	p.mu.Unlock()
	_ = p.ln.Close()
	for _, c := range conns {
		_ = c.Close()
	}
	p.wg.Wait()
}

// dsnWith returns dsn with params set, for a postgres:// URL or a
// key=value DSN.
func dsnWith(t *testing.T, dsn string, params map[string]string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("parse the test DSN: %v", err)
		}
		query := u.Query()
		host, port := u.Hostname(), u.Port()
		for k, v := range params {
			switch k {
			case "host":
				host = v
			case "port":
				port = v
			case "user":
				// The user in the URL wins over a user parameter.
				if password, ok := u.User.Password(); ok {
					u.User = url.UserPassword(v, password)
				} else {
					u.User = url.User(v)
				}
			default:
				query.Set(k, v)
			}
		}
		u.Host = host
		if port != "" {
			u.Host = net.JoinHostPort(host, port)
		}
		u.RawQuery = query.Encode()
		return u.String()
	}
	var b strings.Builder
	b.WriteString(dsn)
	for k, v := range params {
		fmt.Fprintf(&b, " %s='%s'", k, strings.ReplaceAll(v, "'", `\'`))
	}
	return b.String()
}
