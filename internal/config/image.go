package config

import "regexp"

// imageRef matches a container image reference: [registry[:port]/]path[:tag][@digest].
// It is deliberately a little looser than the distribution grammar (upper
// case is rejected, as registries do) but catches what people really get
// wrong: spaces, empty parts, a stray scheme, unset CI variables.
var imageRef = regexp.MustCompile(`^([a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)

func validImage(s string) bool { return imageRef.MatchString(s) }
