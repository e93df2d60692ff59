// Package kube is bluegreen's adapter over client-go: reading the live colour
// from the active Service, and (later stages) switching it. It holds no Argo
// CD, GitLab or Prometheus code.
package kube

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// ColorLabel is the label that carries a pod's colour.
const ColorLabel = "bluegreen.dev/color"

// RESTConfig loads a kubeconfig file when one is given, else the in-cluster
// config, else the default kubeconfig rules (~/.kube/config).
func RESTConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return cfg, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, outcome.Usagef("kubeconfig: %w", err)
	}
	return cfg, nil
}

// Services reads and writes the app's Services.
type Services struct {
	Client kubernetes.Interface
}

// LiveColor reads the colour the active Service selects. A Service that does
// not exist means a first release (plan.None). A Service without a colour
// selector is not under bluegreen yet: adopting it would move its traffic
// to blue as soon as the first release syncs, so that needs an explicit
// --live-color none.
func (s Services) LiveColor(ctx context.Context, namespace, name string) (plan.Color, error) {
	svc, err := s.Client.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return plan.None, nil
	}
	if err != nil {
		return "", outcome.Externalf("read Service %s/%s: %w", namespace, name, err)
	}
	c, ok := svc.Spec.Selector[ColorLabel]
	if !ok {
		return "", outcome.Usagef("Service %s/%s exists but does not select a colour (%s); to adopt it, render with --live-color none (BG_LIVE_COLOR=none), which moves its traffic to blue when blue is synced", namespace, name, ColorLabel)
	}
	color, err := plan.ParseColor(c)
	if err != nil || color == plan.None {
		return "", outcome.Usagef("Service %s/%s: selector %s=%q is not blue or green", namespace, name, ColorLabel, c)
	}
	return color, nil
}

// NewClient builds a clientset from a REST config.
func NewClient(cfg *rest.Config) (kubernetes.Interface, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return cs, nil
}

// NewDynamic builds a dynamic client from a REST config.
func NewDynamic(cfg *rest.Config) (dynamic.Interface, error) {
	d, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	return d, nil
}
