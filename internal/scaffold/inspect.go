package scaffold

import (
	"fmt"

	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/render"
)

// App is what the app's manifests say, as render reads them.
type App struct {
	Namespace string
	Workload  plan.Workload
	Warnings  []string // what will not work as it stands, one line each
}

// Rules are the parts of render's rules that init is given.
type Rules struct {
	App, Namespace, Deployment, Container string
}

// Inspect loads the manifests as render does (the same bounds and the same
// refusals, with render's usage errors naming the file and the field) and
// renders a first release from them, so that a set-up is never written for
// manifests the pipeline's render job would refuse.
func Inspect(in render.Input, r Rules) (App, error) {
	objs, err := in.Load()
	if err != nil {
		return App{}, err
	}
	res, err := render.Apply(render.Rules{
		App: r.App, Namespace: r.Namespace, Deployment: r.Deployment, Container: r.Container,
		Image: "registry.invalid/bluegreen-init:0", Live: plan.None,
	}, objs)
	if err != nil {
		return App{}, err
	}
	app := App{Namespace: res.Namespace, Workload: res.Workload}
	w := res.Workload
	switch {
	case w.Kind == "Rollout":
		// The starter checks select a Rollout's ReplicaSets by
		// rollouts-pod-template-hash (see podLabels); its Services are
		// the ones its blueGreen strategy names.
	case len(w.Services) == 0:
		app.Warnings = append(app.Warnings, fmt.Sprintf("no Service selects the pods of %s %s: bluegreen switches traffic through a Service's selector; add a Service named %s", w.Kind, w.Name, r.App))
	case !hasActive(w.Services, r.App):
		app.Warnings = append(app.Warnings, fmt.Sprintf("no Service named %s selects the pods: the live colour will be read from Service %s", r.App, w.Services[0].Active))
	}
	return app, nil
}

func hasActive(pairs []plan.ServicePair, name string) bool {
	for _, p := range pairs {
		if p.Active == name {
			return true
		}
	}
	return false
}
