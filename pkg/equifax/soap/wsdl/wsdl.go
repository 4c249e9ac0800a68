// Package wsdl holds the WSDL of the Equifax security API's SOAP transport,
// the document both the SOAP client (generated from it with gowsdl) and the
// emulator (which serves it) are built on.
package wsdl

import _ "embed"

// WSDL is security.wsdl: SOAP 1.1 document/literal wrapped, namespace
// urn:efx-emulator:security:v1, operations IssueToken, GetCredentialInfo,
// RenewClientSecret and RevokeClientSecret. Its soap:address points at
// 127.0.0.1:8089; a server that serves it rewrites the address to itself.
//
//go:embed security.wsdl
var WSDL []byte
