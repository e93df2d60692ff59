// Package redact masks credentials in text bound for people: job logs,
// errors, plan.json, JUnit reports and Slack. It owns what counts as a
// credential inside a URL (a userinfo password, a query or fragment
// parameter such as private_token or X-Amz-Signature), so that every writer
// masks the same things the same way.
//
// It works on the text, not on a parsed url.URL, so that a URL that
// url.Parse refuses is masked too and everything else is left exactly as it
// was. It is the second line of defence: config.Secret keeps configured
// tokens out of messages in the first place.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces a credential's value.
const Mask = "[redacted]"

// passwordMask replaces a userinfo password, as url.URL.Redacted does.
const passwordMask = "xxxxx"

// minSecret is the shortest configured secret Scrubber searches for: a
// shorter one would mask ordinary words, and no real token is that short.
const minSecret = 6

// credentialNames are the parameter names that are credentials, lowercased
// with '-', '_' and '.' dropped; credentialSuffixes catch the families
// (client_secret, refresh_token, X-Amz-Security-Token, X-Goog-Credential).
var (
	credentialNames    = map[string]bool{"key": true, "sig": true, "auth": true, "authorization": true, "pass": true, "pwd": true}
	credentialSuffixes = []string{"token", "secret", "password", "passwd", "signature", "credential", "apikey"}
	separators         = strings.NewReplacer("-", "", "_", "", ".", "")
)

var (
	// urlInText is a URL in free text: a scheme, "://", and everything up
	// to white space, a quote or an angle bracket.
	urlInText = regexp.MustCompile("[A-Za-z][A-Za-z0-9+.-]*://[^\\s\"'<>`]+")
	// paramInText is a query parameter outside a URL, as in a logged path
	// "/api/v4/projects?private_token=...".
	paramInText = regexp.MustCompile("[?&;]([A-Za-z0-9_.%-]+)=[^?&;#\\s\"'<>`]*")
)

// URL returns s with its credentials masked: the password of its userinfo
// (as url.URL.Redacted does) and the value of every query and fragment
// parameter whose name is a credential's, compared without case, such as
// private_token, access_token, job_token, api_key, sig or X-Amz-Signature.
func URL(s string) string {
	s = password(s)
	rest, fragment, hasFragment := strings.Cut(s, "#")
	head, query, hasQuery := strings.Cut(rest, "?")
	var b strings.Builder
	b.WriteString(head)
	if hasQuery {
		b.WriteByte('?')
		b.WriteString(params(query))
	}
	if hasFragment {
		b.WriteByte('#')
		b.WriteString(params(fragment))
	}
	return b.String()
}

// Text returns s with the credentials of every URL in it masked (see URL),
// and those of query parameters quoted without their URL. Punctuation that
// ends a URL ends the sentence around it ("at https://...?token=x: refused")
// and is kept.
func Text(s string) string {
	s = urlInText.ReplaceAllStringFunc(s, func(u string) string {
		u, end := cutPunctuation(u)
		return URL(u) + end
	})
	return paramInText.ReplaceAllStringFunc(s, func(m string) string {
		m, end := cutPunctuation(m)
		name, _, _ := strings.Cut(m[1:], "=")
		if !isCredential(name) {
			return m + end
		}
		return m[:1] + name + "=" + Mask + end
	})
}

// cutPunctuation splits the punctuation that ends a sentence off the end of
// a URL or a parameter found in text.
func cutPunctuation(s string) (string, string) {
	trimmed := strings.TrimRight(s, ".,:;!?)}") // not ']', which ends Mask
	return trimmed, s[len(trimmed):]
}

// Scrubber returns a function that masks each of secrets (the configured
// tokens) wherever it appears, then applies Text. Empty and very short
// values are not searched for.
func Scrubber(secrets ...string) func(string) string {
	var pairs []string
	for _, v := range secrets {
		if len(v) >= minSecret {
			pairs = append(pairs, v, Mask)
		}
	}
	if len(pairs) == 0 {
		return Text
	}
	r := strings.NewReplacer(pairs...)
	return func(s string) string { return Text(r.Replace(s)) }
}

// password masks the password of s's userinfo, which ends at the last '@'
// before the path. url.Parse would also end the authority at a '?' or a
// '#'; a password holding one unescaped is masked here all the same, at
// the price of masking too much of a URL with an '@' in its query and no
// path.
func password(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	authority, _, _ := strings.Cut(rest, "/")
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return s
	}
	user, _, hasPassword := strings.Cut(authority[:at], ":")
	if !hasPassword {
		return s
	}
	return scheme + "://" + user + ":" + passwordMask + rest[at:]
}

// params masks the credentials' values in a query or a fragment, keeping
// the order, the separators and the other parameters as they were. A '?'
// separates too: "?a=1?private_token=..." is a mistake worth masking.
func params(q string) string {
	var b strings.Builder
	for {
		i := strings.IndexAny(q, "&;?")
		part := q
		if i >= 0 {
			part = q[:i]
		}
		if name, _, ok := strings.Cut(part, "="); ok && isCredential(name) {
			part = name + "=" + Mask
		}
		b.WriteString(part)
		if i < 0 {
			return b.String()
		}
		b.WriteByte(q[i])
		q = q[i+1:]
	}
}

// isCredential reports whether a parameter's name, as written in a URL,
// names a credential.
func isCredential(name string) bool {
	if n, err := url.QueryUnescape(name); err == nil {
		name = n
	}
	name = separators.Replace(strings.ToLower(name))
	if credentialNames[name] {
		return true
	}
	for _, suffix := range credentialSuffixes {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}
