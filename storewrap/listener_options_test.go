package storewrap

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsInvalidListenerOptions(t *testing.T) {
	const dsn = "host=127.0.0.1 port=1 dbname=app sslmode=disable"
	tests := []struct {
		name string
		opts ListenerOptions
		// want are the parts that the message must contain.
		want []string
	}{
		{"NegativeMin", ListenerOptions{DSN: dsn, MinReconnectInterval: -time.Second},
			[]string{"Listener.MinReconnectInterval", "-1s"}},
		{"NegativeMax", ListenerOptions{DSN: dsn, MaxReconnectInterval: -time.Second},
			[]string{"Listener.MaxReconnectInterval", "-1s"}},
		{"MaxBelowMin", ListenerOptions{DSN: dsn, MinReconnectInterval: time.Minute, MaxReconnectInterval: time.Second},
			[]string{"Listener.MaxReconnectInterval", "1s", "Listener.MinReconnectInterval", "1m0s"}},
		{"MaxBelowDefaultMin", ListenerOptions{DSN: dsn, MaxReconnectInterval: time.Second},
			[]string{"Listener.MaxReconnectInterval", "1s", "default", "10s"}},
		{"BypassWithoutDSN", ListenerOptions{BypassCacheWhileDisconnected: true},
			[]string{"Listener.BypassCacheWhileDisconnected", "Listener.DSN"}},
		{"InvalidDSNValue", ListenerOptions{DSN: "host=x sslmode=bogus"},
			[]string{"Listener.DSN", "sslmode"}},
		{"InvalidURL", ListenerOptions{DSN: "postgres://app:secret-password@host:badport/db"},
			[]string{"Listener.DSN", "invalid port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := New(&recorder{}, Options{Listener: tt.opts})
			if err == nil {
				_ = q.Close()
				t.Fatal("New: error = nil, want one")
			}
			if !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("error %v does not wrap ErrInvalidOptions", err)
			}
			for _, part := range tt.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
			if strings.Contains(err.Error(), "secret-password") {
				t.Errorf("error %q quotes the password of the DSN", err)
			}
		})
	}
}

func TestListenerOptionsDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   ListenerOptions
		want ListenerOptions
	}{
		{"zero", ListenerOptions{}, ListenerOptions{
			MinReconnectInterval: DefaultMinReconnectInterval,
			MaxReconnectInterval: DefaultMaxReconnectInterval,
			StartupCheckTimeout:  DefaultStartupCheckTimeout,
		}},
		{"long min", ListenerOptions{MinReconnectInterval: 2 * time.Minute}, ListenerOptions{
			MinReconnectInterval: 2 * time.Minute,
			MaxReconnectInterval: 2 * time.Minute,
			StartupCheckTimeout:  DefaultStartupCheckTimeout,
		}},
		{"no check", ListenerOptions{StartupCheckTimeout: -1}, ListenerOptions{
			MinReconnectInterval: DefaultMinReconnectInterval,
			MaxReconnectInterval: DefaultMaxReconnectInterval,
			StartupCheckTimeout:  -1,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.in.validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			if got := tt.in.withDefaults(); got != tt.want {
				t.Errorf("withDefaults() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNoListenerWithoutDSN(t *testing.T) {
	q, err := New(&recorder{}, Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer q.Close()
	if got := q.Stats().Listener; got != (ListenerStats{}) {
		t.Errorf("Stats().Listener = %+v without a DSN, want the zero value", got)
	}
	if q.bypassCache() {
		t.Error("bypassCache() = true without a listener")
	}
}
