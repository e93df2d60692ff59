package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gitlab.com/platform/bluegreen/internal/pipeline"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

// play builds bluegreen, starts the servers and plays the three flows.
func play(ctx context.Context, root string) int {
	start := time.Now()
	tools, cleanup, err := buildTools(ctx, root)
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		return 1
	}
	defer cleanup()

	step("starting Kubernetes (etcd, kube-apiserver, controller-manager, scheduler, kwok)")
	t0 := time.Now()
	cluster, err := testenv.StartCluster(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		return 1
	}
	defer cluster.Stop()
	done("cluster up", t0)

	step("starting Argo CD (redis, repo-server, application-controller, server) and logging in")
	t0 = time.Now()
	argo, err := testenv.StartArgoCD(ctx, cluster)
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		return 1
	}
	defer argo.Stop()
	done("Argo CD up", t0)

	servers := pipeline.Servers{Cluster: cluster, ArgoCD: argo}
	history := func(family string) (string, pipeline.WorldOptions) {
		return "Prometheus with an hour of metrics for blue and green (" + family + ")", pipeline.WorldOptions{Green: family}
	}
	good, goodOpts := history("good")
	bad, badOpts := history("bad-error-rate")
	live := "Prometheus scraping the app's live counters: green 0.2% errors under QA traffic, 8% once it is live"
	liveOpts := pipeline.WorldOptions{Live: &pipeline.Live{GreenIdle: 0.002, GreenLive: 0.08}}
	results := []string{
		flow(ctx, servers, tools, "good", good, goodOpts, "1. a good release: approved, verified, promoted, confirmed by monitor", plan.Green),
		flow(ctx, servers, tools, "bad-error-rate", bad, badOpts, "2. a bad release: about 7% errors, verification fails, rolled back", plan.Blue),
		flow(ctx, servers, tools, "fails-under-load", live, liveOpts, "3. a release that passes verify and fails under live traffic: monitor rolls it back by itself", plan.Blue),
	}
	fmt.Printf("\n== summary (%s)\n", time.Since(start).Round(time.Second))
	ok := true
	for _, r := range results {
		fmt.Println("   " + r)
		ok = ok && strings.HasPrefix(r, "✓")
	}
	if !ok {
		return 1
	}
	return 0
}

// buildTools builds bluegreen from this tree into a temp dir.
func buildTools(ctx context.Context, root string) (pipeline.Tools, func(), error) {
	gcl, err := pipeline.GitLabCILocal()
	if err != nil {
		return pipeline.Tools{}, nil, err
	}
	dir, err := os.MkdirTemp("", "bluegreen-demo-bin-")
	if err != nil {
		return pipeline.Tools{}, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	step("building bluegreen from this tree (go build ./cmd/bluegreen)")
	t0 := time.Now()
	bin, err := pipeline.BuildBluegreen(ctx, root, dir)
	if err != nil {
		cleanup()
		return pipeline.Tools{}, nil, err
	}
	done("built "+bin, t0)
	return pipeline.Tools{Bluegreen: bin, GitLabCILocal: gcl, Root: root}, cleanup, nil
}

// flow plays one release of the app "shop": a first release (blue goes
// live), then a release whose green has the metrics o gives (metrics says
// which), through the whole pipeline. It returns a summary line starting
// with ✓ or ✗.
func flow(ctx context.Context, s pipeline.Servers, tools pipeline.Tools, name, metrics string, o pipeline.WorldOptions, title string, want plan.Color) string {
	fmt.Printf("\n== %s\n", title)
	log := &prefixWriter{w: os.Stdout, prefix: "   │ "}
	result := "✗ " + title
	t := newFlowT("demo-"+name, os.Stdout)
	t.run(func(t *flowT) {
		t0 := time.Now()
		step("setting up: a namespace with the ServiceAccount of templates/kubernetes/rbac.yaml, a GitOps repo behind the GitLab API fake,")
		fmt.Println("   an Argo CD Application over it, " + metrics + ",")
		fmt.Println("   a Slack fake, and the app's project, whose .gitlab-ci.yml includes the pipeline component")
		o.Log = log
		w := pipeline.NewWorld(t, s, tools, o)
		done("ready", t0)

		step("first release 1.0.0: gitlab-ci-local render sync (blue goes live)")
		t0 = time.Now()
		w.FirstRelease(ctx, "1.0.0")
		done("blue is live", t0)

		step("release 1.1.0: gitlab-ci-local --manual approve (the whole pipeline; QA presses play on approve)")
		t0 = time.Now()
		run := w.Pipeline(ctx, "1.1.0", "--manual", "approve")
		log.flush()
		done(fmt.Sprintf("pipeline finished, gitlab-ci-local exited %d", run.Code), t0)

		live, err := w.LiveColor(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("   the active Service %s/%s now selects %s\n", w.Namespace, pipeline.App, live)
		threads := pipeline.Threads(w.Slack.Calls())
		if len(threads) > 0 {
			fmt.Printf("\n   Slack %s, the release's thread:\n", pipeline.Channel)
			fmt.Print(indent(threads[len(threads)-1].String(), "   "))
		}
		if live == want {
			result = fmt.Sprintf("✓ %s: live = %s", title, live)
		} else {
			result = fmt.Sprintf("✗ %s: live = %s, expected %s", title, live, want)
		}
	})
	return result
}

func step(s string) { fmt.Printf("-> %s\n", s) }

func done(s string, since time.Time) {
	fmt.Printf("   %s (%s)\n", s, time.Since(since).Round(100*time.Millisecond))
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}

// prefixWriter indents every line written through it.
type prefixWriter struct {
	w       io.Writer
	prefix  string
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.partial = append(p.partial, b...)
	for {
		i := strings.IndexByte(string(p.partial), '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.partial[:i]); err != nil {
			return 0, err
		}
		p.partial = p.partial[i+1:]
	}
}

// flush writes a last line without a newline.
func (p *prefixWriter) flush() {
	if len(p.partial) > 0 {
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.partial)
		p.partial = nil
	}
}
