package testenv

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one server process whose output goes to a log file.
type proc struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	err     error         // Wait's result, valid after done
}

// startProc starts bin in its own process group, killed if the test binary
// dies, with stdout and stderr in dir/<name>.log.
func startProc(dir, name string, env []string, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig to the process group, waits up to grace, then kills the
// group. A nil proc is a no-op, so callers can stop half-started stacks.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	if p == nil || p.exited() {
		return
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, sig)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // also reaps children left in the group
	<-p.done
}

// tail returns the last n lines of the process's log.
func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// failure wraps err with the process's name and the tail of its log.
func (p *proc) failure(err error) error {
	state := ""
	if p.exited() {
		state = fmt.Sprintf(" (exited: %v)", p.err)
	}
	return fmt.Errorf("%s%s: %w\n--- last lines of %s ---\n%s", p.name, state, err, p.logPath, p.tail(30))
}

// waitReady polls check until it succeeds, the process exits or ctx ends.
// The error carries the last check error and the log tail.
func (p *proc) waitReady(ctx context.Context, interval time.Duration, check func(context.Context) error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-p.done:
			return p.failure(fmt.Errorf("not ready: %w", last))
		case <-ctx.Done():
			return p.failure(fmt.Errorf("not ready: %w (last: %v)", ctx.Err(), last))
		case <-t.C:
		}
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1 for servers
// that are told their port and bind it later (seconds later, for Argo CD).
// The ports come from outside the kernel's ephemeral range: a port picked
// by listening on port 0 would be free for anyone else's port-0 listener
// too (httptest, the GitLab fake) until the server binds it, and a test
// once lost Argo CD's repo-server that way. Nothing here binds the
// reserved range but freePorts, which hands each port out once per
// process, from a random start (test binaries share the range when they
// do not run in their own network namespace).
func freePorts(n int) ([]int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	lo, hi := reservedPorts()
	if hi-lo < 2000 {
		return ephemeralPorts(n) // the kernel leaves no room: the racy way
	}
	if portNext == 0 {
		portNext = lo + rand.IntN((hi-lo)/2)
	}
	var ports []int
	for tries := 0; len(ports) < n && tries < hi-lo; tries++ {
		p := portNext
		if portNext++; portNext >= hi {
			portNext = lo
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue // taken: by another test binary, or a system service
		}
		l.Close()
		ports = append(ports, p)
	}
	if len(ports) < n {
		return nil, fmt.Errorf("free port: none left in %d-%d", lo, hi)
	}
	return ports, nil
}

var (
	portMu   sync.Mutex
	portNext int
)

// reservedPorts is a range of at least 2000 ports outside the kernel's
// ephemeral range (net.ipv4.ip_local_port_range), below it if there is
// room, else above it.
func reservedPorts() (lo, hi int) {
	low, high := 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var l, h int
		if _, err := fmt.Sscan(string(b), &l, &h); err == nil && l > 0 && h >= l {
			low, high = l, h
		}
	}
	if low-10000 >= 2000 {
		return 10000, low
	}
	return high + 1, 65536
}

// ephemeralPorts picks n ports by listening on port 0.
func ephemeralPorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// baseEnv is the test process's environment without the variables that
// would point a server somewhere else.
func baseEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "KUBECONFIG", strings.HasPrefix(k, "ARGOCD_"), k == "TMPDIR",
			k == "http_proxy", k == "https_proxy", k == "HTTP_PROXY", k == "HTTPS_PROXY":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}
