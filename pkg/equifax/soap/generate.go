package soap

// The SOAP client is generated from the committed WSDL by gowsdl v0.5.0 (a
// tool in go.mod); run `go generate ./pkg/equifax/soap` after changing it.
//go:generate go tool gowsdl -d internal -p securitysoap -o security.go wsdl/security.wsdl
