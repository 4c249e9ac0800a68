// Package notify sends run notices to a Slack-compatible webhook: the trace
// id, the outcome and the pull request link. It never carries a secret: the
// Event type has no field that could hold one.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/credrotate/credrotate/pkg/credential/redirect"
)

// Event is one run's notice.
type Event struct {
	// Status is "success", "noop", "failure" or "expiring" (a notice before
	// a credential expires).
	Status  string
	TraceID string
	// Summary is one line per provider key, names and ids only.
	Summary  []string
	PRURL    string
	AlertURL string
}

// Text renders the event as a chat message.
func (e Event) Text() string {
	icon := map[string]string{"success": ":white_check_mark:", "noop": ":zzz:", "failure": ":rotating_light:", "expiring": ":hourglass:"}[e.Status]
	var b strings.Builder
	fmt.Fprintf(&b, "%s credrotate run %s: %s", icon, e.TraceID, e.Status)
	if e.PRURL != "" {
		fmt.Fprintf(&b, "\npull request: %s", e.PRURL)
	}
	if e.AlertURL != "" {
		fmt.Fprintf(&b, "\nalert: %s", e.AlertURL)
	}
	for _, s := range e.Summary {
		b.WriteString("\n• " + s)
	}
	return strings.TrimSpace(b.String())
}

// Webhook posts events to a Slack-compatible incoming webhook.
type Webhook struct {
	URL     string
	Client  *http.Client
	Timeout time.Duration
}

// Notify posts e as {"text": ...}. The webhook URL is itself a secret, so it
// never appears in an error.
func (w Webhook) Notify(ctx context.Context, e Event) error {
	if w.URL == "" {
		return nil
	}
	body, err := json.Marshal(map[string]string{"text": e.Text()})
	if err != nil {
		return err
	}
	timeout := w.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: the URL does not parse")
	}
	req.Header.Set("Content-Type", "application/json")
	// The URL is the credential: a redirect elsewhere, or to plain http,
	// would hand it (and the notice) to whoever answers there.
	client := redirect.Client(w.Client)
	resp, err := client.Do(req)
	if err != nil {
		var re *redirect.RefusedError
		if errors.As(err, &re) {
			return fmt.Errorf("webhook to %s: %w: HTTP %d: %s", host(w.URL), redirect.ErrRefused, re.Status, re.Reason)
		}
		var ue *url.Error
		if ok := asURLError(err, &ue); ok {
			return fmt.Errorf("webhook to %s: %w", host(w.URL), ue.Err)
		}
		return fmt.Errorf("webhook to %s: request failed", host(w.URL))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook to %s: HTTP %d", host(w.URL), resp.StatusCode)
	}
	return nil
}

func asURLError(err error, target **url.Error) bool {
	ue, ok := err.(*url.Error)
	if ok {
		*target = ue
	}
	return ok
}

// host names the webhook's host only: its path is the credential.
func host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Host
}
