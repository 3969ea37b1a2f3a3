namespace CausalKv.Causality;

/// <summary>
/// What a session depends on for one key: the writes (<see cref="Clock"/>) a
/// replica's version must include before it may answer, and the highest tag
/// among them, so a later write to the key can be ordered after them even when
/// its replica has not received them yet.
/// </summary>
public sealed record Dependency(VersionVector Clock, WriteTag Tag)
{
    public Dependency Join(Dependency other) =>
        ReferenceEquals(this, other) ? this : new Dependency(Clock.Join(other.Clock), WriteTag.Max(Tag, other.Tag));

    /// <summary>True when <paramref name="clock"/> includes every write this dependency names.</summary>
    public bool IsSatisfiedBy(VersionVector? clock) => Clock.IsEmpty || (clock is not null && clock.Dominates(Clock));
}
