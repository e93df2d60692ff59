package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"testing"
)

// flowT lets the demo use the test servers and fakes, which report to a
// testing.TB, outside `go test`. It implements what they call: helpers,
// logs, errors, cleanups and temp dirs. Fatal ends the flow's goroutine;
// any other TB method is not used and would panic on the nil embedded TB.
type flowT struct {
	testing.TB
	name string
	out  io.Writer

	mu       sync.Mutex
	failed   bool
	cleanups []func()
	dirs     []string
}

func newFlowT(name string, out io.Writer) *flowT { return &flowT{name: name, out: out} }

// run runs f as a flow in its own goroutine, so that Fatal can end it, then
// runs the cleanups, last registered first. It reports whether nothing
// failed.
func (f *flowT) run(body func(t *flowT)) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		body(f)
	}()
	<-done
	f.mu.Lock()
	cleanups := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	for _, d := range f.dirs {
		_ = os.RemoveAll(d)
	}
	return !f.Failed()
}

func (f *flowT) Helper()      {}
func (f *flowT) Name() string { return f.name }

func (f *flowT) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *flowT) TempDir() string {
	d, err := os.MkdirTemp("", "bluegreen-demo-")
	if err != nil {
		f.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dirs = append(f.dirs, d)
	return d
}

func (f *flowT) Log(args ...any)                 { fmt.Fprintln(f.out, append([]any{"   "}, args...)...) }
func (f *flowT) Logf(format string, args ...any) { fmt.Fprintf(f.out, "    "+format+"\n", args...) }

func (f *flowT) Error(args ...any) {
	f.fail()
	fmt.Fprintln(f.out, append([]any{"  ✗"}, args...)...)
}

func (f *flowT) Errorf(format string, args ...any) {
	f.fail()
	fmt.Fprintf(f.out, "  ✗ "+format+"\n", args...)
}

func (f *flowT) Fatal(args ...any)                 { f.Error(args...); runtime.Goexit() }
func (f *flowT) Fatalf(format string, args ...any) { f.Errorf(format, args...); runtime.Goexit() }
func (f *flowT) FailNow()                          { f.fail(); runtime.Goexit() }
func (f *flowT) Skip(args ...any)                  { f.Fatal(append([]any{"cannot run:"}, args...)...) }
func (f *flowT) Skipf(format string, args ...any)  { f.Fatalf("cannot run: "+format, args...) }

func (f *flowT) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func (f *flowT) fail() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = true
}
