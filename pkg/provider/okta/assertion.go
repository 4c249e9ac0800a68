package okta

import (
	"github.com/credrotate/credrotate/pkg/credential/assertion"
)

// assertion signs the service app's client assertion for the org
// authorization server (private_key_jwt): issued by and about the app, for
// the token endpoint, valid for five minutes, with a fresh jti.
func (c *Client) assertion() (string, error) {
	return assertion.Sign(c.app.Key, c.app.ClientID, c.mgmtToken, c.app.KeyID, c.now())
}
