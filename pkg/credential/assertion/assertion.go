// Package assertion signs the client assertions of OAuth 2.0's
// private_key_jwt client authentication (RFC 7523 section 2.2, as Okta's
// service apps use it) and reads the PEM private keys that sign them.
package assertion

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

// Lifetime is how long a signed assertion is valid.
const Lifetime = 5 * time.Minute

// Sign signs a client assertion issued by and about clientID, for the token
// endpoint audience, valid for Lifetime from now, with a fresh jti: RS256
// for an RSA key, ES256 for an ECDSA one. keyID, when set, is the header's
// kid.
func Sign(key crypto.Signer, clientID, audience, keyID string, now time.Time) (string, error) {
	claims := jwt.RegisteredClaims{
		Issuer:    clientID,
		Subject:   clientID,
		Audience:  jwt.ClaimStrings{audience},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(Lifetime)),
		ID:        uuid.NewString(),
	}
	var method jwt.SigningMethod
	switch key.(type) {
	case *rsa.PrivateKey:
		method = jwt.SigningMethodRS256
	case *ecdsa.PrivateKey:
		method = jwt.SigningMethodES256
	default:
		return "", errors.New("the key is neither RSA nor ECDSA")
	}
	t := jwt.NewWithClaims(method, claims)
	if keyID != "" {
		t.Header["kid"] = keyID
	}
	return t.SignedString(key)
}

// ParsePrivateKey reads a private key from PEM: PKCS #8, PKCS #1 (RSA) or
// SEC 1 (EC). Its errors never quote the key.
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
