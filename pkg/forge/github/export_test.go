package github

import "net/http"

// HTTPClientForTest exposes the client's authenticated http.Client, so
// that tests can send it somewhere GitHub never would.
func HTTPClientForTest(c *Client) *http.Client { return c.httpc }
