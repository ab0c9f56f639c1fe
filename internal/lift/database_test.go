package lift

import (
	"context"
	"strings"
	"testing"
)

func TestDatabaseIndexesAndPermissions(t *testing.T) {
	root := parse(t, "service: s\nprovider: {name: aws}\nconstructs:\n  db:\n    type: database/dynamodb-single-table\n    gsiCount: 2\n")
	l := New(root)
	if _, ds := l.Expand(root, "dev"); ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	l.AddResources(root)
	props := root.Lookup("resources", "Resources", LogicalID("db", "Table", "Resource"), "Properties")
	var names []string
	for _, a := range props.Get("AttributeDefinitions").Items {
		names = append(names, a.Get("AttributeName").Scalar())
	}
	if got := strings.Join(names, ","); got != "PK,SK,GSI-1-PK,GSI-1-SK,GSI-2-PK,GSI-2-SK" {
		t.Errorf("attributes = %s", got)
	}
	if props.Has("LocalSecondaryIndexes") || len(props.Get("GlobalSecondaryIndexes").Items) != 2 {
		t.Errorf("indexes: %v", props.Keys())
	}
	st := root.Lookup("provider", "iamRoleStatements")
	if st == nil || len(st.Items) != 1 {
		t.Fatalf("statements = %v", st)
	}
	got, _ := st.Items[0].Get("Resource").MarshalJSON()
	arn := `{"Fn::GetAtt":["` + LogicalID("db", "Table", "Resource") + `","Arn"]}`
	if want := `[` + arn + `,{"Fn::Join":["/",[` + arn + `,"index/*"]]}]`; string(got) != want {
		t.Errorf("Resource = %s\nwant       %s", got, want)
	}
}

func TestDatabaseGsiCountOutOfRange(t *testing.T) {
	root := parse(t, "service: s\nprovider: {name: aws}\nconstructs:\n  db:\n    type: database/dynamodb-single-table\n    gsiCount: 21\n")
	_, ds := New(root).Expand(root, "dev")
	if len(ds) != 1 || ds[0].Path != "constructs.db.gsiCount" || ds[0].Pos.Line != 6 || ds[0].Pos.Col != 15 {
		t.Fatalf("want one error at gsiCount, got %v", ds)
	}
}

func TestDatabaseVariables(t *testing.T) {
	l := New(parse(t, "constructs:\n  db:\n    type: database/dynamodb-single-table\n"))
	if _, err := l.Source(context.Background(), nil, "db.tableStreamArn"); err != nil {
		t.Error(err)
	}
	if _, err := l.Source(context.Background(), nil, "db.busName"); err == nil || !strings.Contains(err.Error(), "are: tableName, tableArn, tableStreamArn") {
		t.Errorf("unknown property: %v", err)
	}
}
