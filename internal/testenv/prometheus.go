package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PrometheusOptions says what a Prometheus starts with. Both are optional.
type PrometheusOptions struct {
	// History is OpenMetrics text, in time order per series, timestamps in
	// seconds, ending with "# EOF". It is backfilled with
	// `promtool tsdb create-blocks-from openmetrics` before the start, and can
	// be queried as soon as the server is ready. Build it with timestamps
	// relative to now: data older than a year is dropped.
	History string
	// ScrapeConfigs is YAML for the scrape_configs list, e.g.
	// "- job_name: app\n  static_configs: [{targets: ['127.0.0.1:8080']}]".
	// The scrape and evaluation interval is 1s; the first scrape comes about
	// 6s after the start.
	ScrapeConfigs string
}

// Prometheus is a running Prometheus server on loopback.
type Prometheus struct {
	dir  string
	url  string
	proc *proc
}

// NewPrometheus starts a Prometheus for one test and stops it when the test
// ends. It fails tb when Prometheus can't be had (or skips, see SkipAllowed).
func NewPrometheus(tb testing.TB, opts PrometheusOptions) *Prometheus {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := StartPrometheus(ctx, opts)
	if err != nil {
		fail(tb, err)
	}
	tb.Cleanup(p.Stop)
	return p
}

// StartPrometheus backfills opts.History, starts Prometheus in a new temp
// dir and waits until it is ready. Call Stop when done.
func StartPrometheus(ctx context.Context, opts PrometheusOptions) (_ *Prometheus, err error) {
	bin, err := onPath("prometheus")
	if err != nil {
		return nil, err
	}
	promtool, err := onPath("promtool")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bluegreen-prometheus-")
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	p := &Prometheus{dir: dir}
	defer func() {
		if err != nil {
			p.Stop()
		}
	}()
	data := filepath.Join(dir, "data")
	if opts.History != "" {
		if err := backfill(ctx, promtool, dir, data, opts.History); err != nil {
			return nil, err
		}
	}
	cfg := "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
	if opts.ScrapeConfigs != "" {
		cfg += "scrape_configs:\n" + indent(opts.ScrapeConfigs, "  ")
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	p.url = "http://" + addr
	p.proc, err = startProc(dir, "prometheus", baseEnv(), bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+data,
		"--storage.tsdb.retention.time=1y", "--web.listen-address="+addr, "--web.enable-lifecycle")
	if err != nil {
		return nil, err
	}
	if err := p.proc.waitReady(ctx, 50*time.Millisecond, func(ctx context.Context) error {
		return httpOK(ctx, http.DefaultClient, p.url+"/-/ready", "")
	}); err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	return p, nil
}

// backfill writes history into TSDB blocks in data.
func backfill(ctx context.Context, promtool, dir, data, history string) error {
	file := filepath.Join(dir, "history.om")
	if err := os.WriteFile(file, []byte(history), 0o644); err != nil {
		return fmt.Errorf("prometheus backfill: %w", err)
	}
	cmd := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", file, data)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("prometheus backfill: promtool: %w\n%s", err, out)
	}
	return nil
}

// URL is the server's base URL, e.g. http://127.0.0.1:41234; the HTTP API
// is under /api/v1.
func (p *Prometheus) URL() string { return p.url }

// Stop asks Prometheus to quit, kills it if it doesn't within 5s, and
// removes its temp dir. It is safe to call twice.
func (p *Prometheus) Stop() {
	if p == nil {
		return
	}
	if p.proc != nil && !p.proc.exited() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/-/quit", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		cancel()
		select {
		case <-p.proc.done:
		case <-time.After(5 * time.Second):
		}
		p.proc.stop(syscall.SIGKILL, 0)
	}
	if p.dir != "" && os.Getenv("BLUEGREEN_KEEP_TESTENV") == "" {
		_ = os.RemoveAll(p.dir)
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}
