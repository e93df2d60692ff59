package doctor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/prom"
	"gitlab.com/platform/bluegreen/internal/verify"
)

// PromAPI is what the Prometheus checks ask (prom.Client).
type PromAPI interface {
	Query(ctx context.Context, q string, t time.Time) (prom.Result, error)
}

// Prometheus checks that Prometheus answers, and that every check's query
// is valid and gives exactly one series for the live colour (which the
// Kubernetes checks read). checks may be nil: no checks file configured.
func Prometheus(api PromAPI, checks *verify.Checks, now func() time.Time) System {
	return System{Name: "prometheus", Run: func(ctx context.Context, st *State) []Result {
		r := Result{Name: "reachable"}
		if _, err := api.Query(ctx, "vector(1)", now()); err != nil {
			r.Verdict, r.Detail = Down, err.Error()
			r.Fix = "check BG_PROMETHEUS_URL and that Prometheus is reachable from the runner"
			if errors.Is(err, prom.ErrUnauthorized) {
				r.Verdict, r.Fix = Fix, "check BG_PROMETHEUS_TOKEN"
			}
			return []Result{r}
		}
		r.Verdict, r.Detail = OK, "answers"
		rs := []Result{r}
		if checks == nil {
			return append(rs, Result{Name: "checks", Verdict: Skip, Detail: "no checks file (BG_CHECKS)"})
		}
		for _, c := range checks.Checks {
			rs = append(rs, query(ctx, api, c, st, now()))
		}
		return rs
	}}
}

func query(ctx context.Context, api PromAPI, c *verify.Check, st *State, now time.Time) Result {
	r := Result{Name: "check " + c.Name}
	side := verify.Side{App: st.App, Namespace: st.Namespace, Color: st.Live}
	name, labels := string(st.Live), "its pods need the bluegreen.dev/color label as a metric label, e.g. through relabelling"
	first := false
	switch {
	case st.LiveHash != "": // an Argo Rollouts app: its live side is a ReplicaSet
		side.Color, side.Hash = plan.Blue, st.LiveHash
		name, labels = "ReplicaSet "+st.LiveHash, "its series need the pods' rollouts-pod-template-hash label as rollouts_pod_template_hash, through relabelling"
	case st.Live != plan.Blue && st.Live != plan.Green:
		first, side.Color, name = true, plan.Blue, string(plan.Blue) // the first release's colour: the query is still proven valid
	}
	if why := c.Misfit(st.LiveHash != ""); why != "" {
		r.Verdict, r.Detail, r.Fix = Fix, why, "fix the query in the checks file"
		return r
	}
	q, err := c.RenderSide(side, c.Interval)
	if err != nil {
		r.Verdict, r.Detail, r.Fix = Fix, err.Error(), "fix the query in the checks file"
		return r
	}
	res, err := api.Query(ctx, q, now)
	switch {
	case errors.Is(err, prom.ErrBadQuery):
		r.Verdict, r.Detail, r.Fix = Fix, err.Error(), "fix the query in the checks file: Prometheus refuses it"
	case errors.Is(err, prom.ErrNoData) && first:
		r.Verdict, r.Detail = Warn, "no live colour yet, and no data for blue: "+q
		r.Fix = "nothing before the first release; check after it that the query returns one series"
	case errors.Is(err, prom.ErrNoData):
		what := "the live colour " + name
		if st.LiveHash != "" {
			what = "the live " + name
		}
		r.Verdict, r.Detail = Fix, fmt.Sprintf("no data for %s: %s", what, q)
		r.Fix = "check the metric and label names against what the app exposes (" + labels + "), and that Prometheus scrapes it"
	case err != nil:
		r.Verdict, r.Detail, r.Fix = Down, err.Error(), "check that Prometheus is reachable"
	case len(res.Series) != 1:
		r.Verdict, r.Detail = Fix, fmt.Sprintf("%d series for %s: a check needs exactly one: %s", len(res.Series), name, q)
		r.Fix = "aggregate the query to one series, e.g. sum(...) or sum by () (...)"
	default:
		v := res.Series[0].Points[len(res.Series[0].Points)-1].V
		r.Verdict, r.Detail = OK, fmt.Sprintf("one series for %s, now %g", name, v)
	}
	return r
}
