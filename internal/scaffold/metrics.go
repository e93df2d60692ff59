package scaffold

import (
	"fmt"
	"sort"
	"strings"

	"gitlab.com/platform/bluegreen/internal/render"
)

// Family is a set of RED metrics an app may expose, and the starter
// queries over them. The queries are verify's templates: {{.App}},
// {{.Namespace}}, {{.Color}} (a Deployment app) or {{.Hash}} (a Rollout
// app's ReplicaSet) and {{.Window}} are filled in per side.
type Family struct {
	Name    string
	Metrics string   // the metric names, for comments
	Notes   []string // what the queries assume of the series' labels
	Relabel bool     // the labels come from a scrape relabelling the app's own pods
	// ErrorRate is the share of failed requests. Its numerator falls back
	// to 0 when no failure was ever counted (the series do not exist yet),
	// and the whole is empty without traffic, which is no data.
	ErrorRate string
	Latency   string // p99 latency
	Rate      string // requests per second
}

// podLabels is the label matcher of the http and grpc queries: the series
// carry the pod's namespace, and its bluegreen.dev/app and
// bluegreen.dev/color labels as app and color. A Rollout's pods carry
// neither (render leaves its pod template alone, so that the template's
// hash stays Argo Rollouts' own): its series carry the pod's
// rollouts-pod-template-hash as rollouts_pod_template_hash, which names
// one ReplicaSet of the app in its namespace.
func podLabels(app App) string {
	if app.Workload.Kind == "Rollout" {
		return `namespace="{{.Namespace}}",rollouts_pod_template_hash="{{.Hash}}"`
	}
	return `namespace="{{.Namespace}}",app="{{.App}}",color="{{.Color}}"`
}

func relabelNotes(app App) []string {
	if app.Workload.Kind == "Rollout" {
		return []string{
			"The queries select a ReplicaSet's series by the labels namespace and",
			"rollouts_pod_template_hash: the scrape must copy the pods' label",
			"rollouts-pod-template-hash (which Argo Rollouts puts on every pod) to",
			"rollouts_pod_template_hash, and the pod's namespace to namespace.",
		}
	}
	return []string{
		"The queries select the colour's series by the labels namespace, app and color: the",
		"scrape must copy the pods' labels " + render.AppLabel + " and " + render.ColorLabel + " (which render",
		"puts on every pod) to app and color, and the pod's namespace to namespace.",
	}
}

var families = map[string]func(App) Family{
	"http": func(app App) Family {
		pods := podLabels(app)
		return Family{
			Name: "http", Metrics: "http_requests_total by code, http_request_duration_seconds", Notes: relabelNotes(app), Relabel: true,
			ErrorRate: ratio("http_requests_total", pods+`,code=~"5.."`, pods),
			Latency:   p99("http_request_duration_seconds_bucket", pods),
			Rate:      rate("http_requests_total", pods),
		}
	},
	"grpc": func(app App) Family {
		// Server-side failures only: a client's NotFound or InvalidArgument
		// is the client's error, not the release's.
		pods := podLabels(app)
		failed := pods + `,grpc_code=~"Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss"`
		return Family{
			Name: "grpc", Metrics: "grpc_server_handled_total by grpc_code, grpc_server_handling_seconds", Relabel: true,
			Notes: append(relabelNotes(app),
				"grpc_server_handling_seconds is a histogram the server must enable (EnableHandlingTimeHistogram)."),
			ErrorRate: ratio("grpc_server_handled_total", failed, pods),
			Latency:   p99("grpc_server_handling_seconds_bucket", pods),
			Rate:      rate("grpc_server_handled_total", pods),
		}
	},
	"istio": func(app App) Family {
		// Istio names the workload after its Deployment, so the colour is
		// in destination_workload: <deployment>-blue or -green.
		dest := fmt.Sprintf(`reporter="destination",destination_workload_namespace="{{.Namespace}}",destination_workload="%s-{{.Color}}"`, app.Workload.Name)
		return Family{
			Name: "istio", Metrics: "istio_requests_total by response_code, istio_request_duration_milliseconds",
			Notes: []string{
				"The queries read Istio's standard metrics as the destination's sidecar reports them:",
				fmt.Sprintf("the colour is in destination_workload, %s-blue or %s-green. The pods need", app.Workload.Name, app.Workload.Name),
				"the sidecar, and Prometheus must scrape Istio's metrics.",
			},
			ErrorRate: ratio("istio_requests_total", dest+`,response_code=~"5.."`, dest),
			Latency:   p99("istio_request_duration_milliseconds_bucket", dest),
			Rate:      rate("istio_requests_total", dest),
		}
	},
}

// FamilyNames lists the families, sorted.
func FamilyNames() []string {
	var out []string
	for n := range families {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func family(name string, app App) (Family, bool) {
	f, ok := families[name]
	if !ok {
		return Family{}, false
	}
	return f(app), true
}

func ratio(metric, failed, all string) string {
	return strings.Join([]string{
		fmt.Sprintf("(sum(rate(%s{%s}[{{.Window}}])) or vector(0))", metric, failed),
		"/",
		fmt.Sprintf("sum(rate(%s{%s}[{{.Window}}]))", metric, all),
	}, "\n")
}

func p99(bucket, labels string) string {
	return fmt.Sprintf("histogram_quantile(0.99, sum by (le) (rate(%s{%s}[{{.Window}}])))", bucket, labels)
}

func rate(metric, labels string) string {
	return fmt.Sprintf("sum(rate(%s{%s}[{{.Window}}]))", metric, labels)
}
