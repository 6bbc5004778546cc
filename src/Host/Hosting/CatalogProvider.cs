namespace ActorCkpt.Hosting;

/// <summary>The database the catalog of checkpoints is journaled in (<see cref="ActorCkptCatalogOptions.Provider"/>).</summary>
public enum CatalogProvider
{
    /// <summary>A SQLite file, by default <c>catalog.db</c> under the checkpoint root: no server; one writer process at a time.</summary>
    Sqlite,

    /// <summary>A PostgreSQL server named by <see cref="ActorCkptCatalogOptions.ConnectionString"/>.</summary>
    PostgreSql,
}
