-- +goose Up
-- The household ledger's export walks live households by town, then
-- servicemember's name (keyset pages): this index is that order, so each
-- page is a range scan instead of a sort of the whole table.
CREATE INDEX households_ledger_order ON households (town_code, servicemember_name, id) WHERE delete_time IS NULL;

-- +goose Down
DROP INDEX households_ledger_order;
