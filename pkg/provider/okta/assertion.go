package okta

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// assertion signs the service app's client assertion for the org
// authorization server (private_key_jwt): issued by and about the app, for
// the token endpoint, valid for five minutes, with a fresh jti.
func (c *Client) assertion() (string, error) {
	now := c.now()
	claims := jwt.RegisteredClaims{
		Issuer:    c.app.ClientID,
		Subject:   c.app.ClientID,
		Audience:  jwt.ClaimStrings{c.mgmtToken},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)),
		ID:        uuid.NewString(),
	}
	var method jwt.SigningMethod
	switch c.app.Key.(type) {
	case *rsa.PrivateKey:
		method = jwt.SigningMethodRS256
	case *ecdsa.PrivateKey:
		method = jwt.SigningMethodES256
	default:
		return "", errors.New("the service app's key is neither RSA nor ECDSA")
	}
	t := jwt.NewWithClaims(method, claims)
	if c.app.KeyID != "" {
		t.Header["kid"] = c.app.KeyID
	}
	return t.SignedString(c.app.Key)
}

// ParsePrivateKey reads a service app's private key from PEM: PKCS #8,
// PKCS #1 (RSA) or SEC 1 (EC).
func ParsePrivateKey(pemBytes []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		return nil, errors.New("not a PEM private key")
	}
	if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		}
		return nil, errors.New("the private key is neither RSA nor ECDSA")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	return nil, errors.New("the PEM block is not an RSA or EC private key")
}
