// Package render builds the target colour's manifests from the app's own
// manifests (DESIGN.md §4): it colours the Deployment, copies its config as
// immutable coloured objects, retargets HPA and PDB, splits each Service into
// an active and a preview Service, and passes everything else through. The
// output is deterministic: the same input gives the same bytes and digest.
package render

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// LiveReader reads the live colour from the cluster's active Service. It
// returns plan.None when the Service does not exist yet.
type LiveReader interface {
	LiveColor(ctx context.Context, namespace, service string) (plan.Color, error)
}

// Stage is one run of `bluegreen render`.
type Stage struct {
	Rules       Rules      // Live may be empty: then Reader decides
	Manifests   string     // the app's manifests path
	Root        string     // the project folder a kustomization's local files must stay in; empty means the manifests folder
	AllowRemote bool       // let a kustomization use pinned remote references (Input.AllowRemote)
	OutDir      string     // where rendered/, plan.json and the dotenv go
	Reader      LiveReader // used only when Rules.Live is empty
	Plan        plan.Plan  // identity fields to copy into the new plan (pipeline, commit, environment)
	Out         io.Writer  // human progress lines
	Log         *slog.Logger
	Now         func() time.Time
}

// Run renders, writes rendered/ and the dotenv, and returns the new plan,
// validated as every later mode will load it, for the caller to save.
// Nothing is written unless every rule and every check succeeded: bad input
// is a usage error (exit 2) found before the first write.
func (s *Stage) Run(ctx context.Context) (*plan.Plan, error) {
	start := s.Now()
	objs, err := Input{Path: s.Manifests, Root: s.Root, AllowRemote: s.AllowRemote}.Load()
	if err != nil {
		return nil, err
	}
	res, err := s.apply(ctx, objs)
	if err != nil {
		return nil, err
	}
	out, err := Encode(res)
	if err != nil {
		return nil, err
	}
	p := s.newPlan(res, out, start)
	if err := p.Validate(filepath.Join(s.OutDir, plan.FileName)); err != nil {
		return nil, outcome.As(outcome.Usage, err)
	}
	s.printObjects(res)
	if err := Write(s.OutDir, out, p); err != nil {
		// A refused path stays a usage error; a failed write is external.
		return nil, outcome.Local(fmt.Errorf("write %s: %w", s.OutDir, err))
	}
	fmt.Fprintf(s.Out, "rendered %d objects from %d inputs in %s → %s (%s)\n",
		len(res.Objects), len(objs), s.Now().Sub(start).Round(time.Millisecond), out.Dir(s.OutDir), shortDigest(out.Digest))
	s.Log.Info("rendered", "app", p.App, "namespace", p.Namespace, "live", p.LiveColor, "target", p.TargetColor,
		"objects", len(res.Objects), "digest", out.Digest)
	return p, nil
}

// apply decides the colours and runs the rules. The live colour comes from
// the rules or, when absent, from the active Service in the cluster.
func (s *Stage) apply(ctx context.Context, objs []*Object) (*Result, error) {
	r := s.Rules
	if r.Live != "" {
		r.Target = r.Live.Other()
		return Apply(r, objs)
	}
	// A first pass finds the namespace and the active Services' names.
	probe := r
	probe.Live, probe.Target = plan.None, plan.Blue
	res, err := Apply(probe, objs)
	if err != nil {
		return nil, err
	}
	svc := activeService(r.App, res.Workload.Services)
	if svc == "" {
		s.Log.Warn("no Service selects the workload's pods; treating this as a first release", "workload", res.Workload.Name)
		return res, nil
	}
	live, err := s.Reader.LiveColor(ctx, res.Namespace, svc)
	if err != nil {
		return nil, err
	}
	if live == plan.None {
		fmt.Fprintf(s.Out, "live colour: none (Service %s/%s does not exist yet: a first release)\n", res.Namespace, svc)
	} else {
		fmt.Fprintf(s.Out, "live colour: %s (from Service %s/%s)\n", live, res.Namespace, svc)
	}
	r.Live, r.Target = live, live.Other()
	return Apply(r, objs)
}

// activeService picks the Service that tells the live colour: the one named
// after the app, else the first active Service.
func activeService(app string, pairs []plan.ServicePair) string {
	for _, p := range pairs {
		if p.Active == app {
			return p.Active
		}
	}
	if len(pairs) > 0 {
		return pairs[0].Active
	}
	return ""
}

func (s *Stage) newPlan(res *Result, out *Output, start time.Time) *plan.Plan {
	p := s.Plan
	p.Schema = plan.SchemaVersion
	p.App = s.Rules.App
	p.Namespace = res.Namespace
	p.Image = s.Rules.Image
	p.LiveColor, p.TargetColor = res.Live, res.Target
	p.Workload = res.Workload
	p.Rendered = out.Rendered()
	p.CreatedAt = start.UTC()
	p.Ledger = nil
	p.Append(plan.Result{
		Stage: plan.Render, Outcome: outcome.OK.String(), Started: start.UTC(), Finished: s.Now().UTC(),
		Message: fmt.Sprintf("rendered %s for %s (live %s)", p.TargetColor, p.Image, p.LiveColor),
		Details: map[string]string{"digest": out.Digest, "objects": fmt.Sprint(len(res.Objects))},
	})
	return &p
}

func (s *Stage) printObjects(res *Result) {
	fmt.Fprintf(s.Out, "render %s: target %s, live %s, namespace %s, image %s\n", s.Rules.App, res.Target, res.Live, res.Namespace, s.Rules.Image)
	for _, o := range res.Objects {
		line := "  " + fmt.Sprintf("%-10s", o.Action) + " " + o.From
		if to := o.Obj.GetKind() + "/" + o.Obj.GetName(); to != o.From {
			line += " → " + o.Obj.GetName()
		}
		if o.Note != "" {
			line += ": " + o.Note
		}
		fmt.Fprintln(s.Out, line)
	}
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return d
}
