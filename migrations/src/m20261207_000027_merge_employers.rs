use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DbBackend},
};

/// One employer record: the employee counts of `employers` move into `units` (with who set
/// them, and the contact phone of the enterprise step), and `units` takes the name `employers`,
/// its certificates' `unit_id` becoming `employer_id`. A count recorded for an employer that had
/// no certificate yet becomes an employer row named as its newest application names it.
#[derive(DeriveMigrationName)]
pub struct Migration;

const ADDED: [&str; 3] = [
    "employee_count_source",
    "employee_count_updated_by",
    "contact_phone",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        for column in [
            string_len_null("employee_count_source", 16),
            string_null("employee_count_updated_by"),
            text_null("contact_phone"),
        ] {
            manager
                .alter_table(Table::alter().table("units").add_column(column).to_owned())
                .await?;
        }
        let db = manager.get_connection();
        let name_of_newest_application = match manager.get_database_backend() {
            DbBackend::Postgres => "enterprise->>'name'",
            _ => "json_extract(enterprise, '$.name')",
        };
        db.execute_unprepared(&format!(
            "INSERT INTO units (uscc, name, region_code, created_at, updated_at) \
             SELECT e.uscc, COALESCE((SELECT {name_of_newest_application} FROM applications a \
               WHERE a.uscc = e.uscc AND a.enterprise IS NOT NULL ORDER BY a.id DESC LIMIT 1), ''), \
               SUBSTR(e.uscc, 3, 6), e.updated_at, e.updated_at \
             FROM employers e WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.uscc = e.uscc)"
        ))
        .await?;
        db.execute_unprepared(
            "UPDATE units SET \
               employee_count = (SELECT e.employee_count FROM employers e WHERE e.uscc = units.uscc), \
               employee_count_source = (SELECT e.employee_count_source FROM employers e WHERE e.uscc = units.uscc), \
               employee_count_updated_by = (SELECT e.updated_by FROM employers e WHERE e.uscc = units.uscc) \
             WHERE EXISTS (SELECT 1 FROM employers e WHERE e.uscc = units.uscc)",
        )
        .await?;
        manager
            .drop_table(Table::drop().table("employers").to_owned())
            .await?;
        manager
            .rename_table(Table::rename().table("units", "employers").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("certificates")
                    .rename_column("unit_id", "employer_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("certificates")
                    .rename_column("employer_id", "unit_id")
                    .to_owned(),
            )
            .await?;
        manager
            .rename_table(Table::rename().table("employers", "units").to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("employers")
                    .col(string_len("uscc", 18).primary_key())
                    .col(integer("employee_count"))
                    .col(string_len("employee_count_source", 16))
                    .col(string("updated_by"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO employers (uscc, employee_count, employee_count_source, updated_by, updated_at) \
             SELECT uscc, employee_count, COALESCE(employee_count_source, 'staff'), \
               COALESCE(employee_count_updated_by, ''), updated_at \
             FROM units WHERE employee_count IS NOT NULL",
        )
        .await?;
        // Rows the old schema would not have: employers known only from an application, which it
        // registered at their first certificate.
        db.execute_unprepared(
            "DELETE FROM units WHERE NOT EXISTS \
             (SELECT 1 FROM certificates c WHERE c.unit_id = units.id)",
        )
        .await?;
        for column in ADDED {
            manager
                .alter_table(Table::alter().table("units").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
