package contract

import (
	"fmt"
	"os"
	"sync"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

var (
	schemaOnce sync.Once
	schema     *ast.Schema
	schemaErr  error
)

// githubSchema loads GitHub's public GraphQL schema (npm
// @octokit/graphql-schema). The published SDL declares a few fields twice
// (identically); gqlparser refuses that, so duplicates are dropped first.
func githubSchema() (*ast.Schema, error) {
	schemaOnce.Do(func() {
		data, err := os.ReadFile(graphqlSchemaPath)
		if err != nil {
			schemaErr = err
			return
		}
		doc, err := parser.ParseSchemas(validator.Prelude, &ast.Source{Name: "schema.graphql", Input: string(data)})
		if err != nil {
			schemaErr = fmt.Errorf("parsing GitHub's GraphQL schema: %w", err)
			return
		}
		for _, def := range append(doc.Definitions, doc.Extensions...) {
			seen := map[string]bool{}
			fields := def.Fields[:0]
			for _, f := range def.Fields {
				if seen[f.Name] {
					continue
				}
				seen[f.Name] = true
				fields = append(fields, f)
			}
			def.Fields = fields
		}
		schema, schemaErr = validator.ValidateSchemaDocument(doc)
	})
	return schema, schemaErr
}

// validateGraphQL checks a document and its variables against GitHub's
// schema.
func validateGraphQL(query string, vars map[string]any) error {
	s, err := githubSchema()
	if err != nil {
		return err
	}
	doc, errs := gqlparser.LoadQueryWithRules(s, query, nil)
	if len(errs) > 0 {
		return errs
	}
	for _, op := range doc.Operations {
		if _, err := validator.VariableValues(s, op, vars); err != nil {
			return err
		}
	}
	return nil
}
