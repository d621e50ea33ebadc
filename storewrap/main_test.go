package storewrap

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/hotread/hotread/internal/pgserver"
)

// TestMain runs the tests with a throwaway PostgreSQL for those that need
// one, which starts on first use, and then fails the run if any goroutine
// outlived the tests.
func TestMain(m *testing.M) {
	code := pgserver.RunTests(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "storewrap: goroutines leaked: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
