namespace CausalKv.Sharding;

/// <summary>
/// The views a node promised (<c>POST /view/prepare</c>) above the view it installed: one layout per epoch, so a promise
/// of epoch <c>e</c> holds back only another layout under <c>e</c>, never an epoch below it. A node that lags behind the
/// view in force may have promised a newer install that was never carried out; the resend of the view in force must
/// still reach it, and it does, as no promise names that epoch with another layout.
/// <para>
/// Bound: at most <see cref="MaxCount"/> promises are kept. Each is spent once the node installs its epoch or a higher
/// one (<see cref="Above"/>), so only installs prepared and never carried out pile up, one per failed round of a
/// router. Past the bound the lowest promise is dropped, and its epoch becomes the <see cref="Floor"/>: the node no longer
/// knows which layout it promised there, so every epoch from its installed one up to the floor is held back, whatever
/// the layout, until it installs an epoch at or above the floor. The highest promises are the ones kept because a router
/// that is refused goes above the highest epoch a node holds: the next install is prepared above all of them.
/// </para>
/// Invariant: while an epoch a node promised is above its installed one, the node takes no other layout under it
/// (<see cref="ViewPromiseDecision"/>), whether the promise is kept or was dropped below the floor.
/// </summary>
public sealed class ViewPromises
{
    /// <summary>How many promises a node keeps above its installed view (the highest ones); a view is ~40 B per node.</summary>
    public const int MaxCount = 16;

    /// <summary>No promise, and no floor.</summary>
    public static readonly ViewPromises None = new([], 0);

    private readonly ShardView[] _views;

    private ViewPromises(ShardView[] views, long floor)
    {
        _views = views;
        Floor = floor;
    }

    /// <summary>The promised views, lowest epoch first, one per epoch, every epoch above <see cref="Floor"/>.</summary>
    public IReadOnlyList<ShardView> Views => _views;

    /// <summary>
    /// The highest epoch whose promise was dropped for the bound (0: none): every epoch at or below it that the node has
    /// not installed is held back, since the layout promised there is no longer known.
    /// </summary>
    public long Floor { get; }

    /// <summary>The highest epoch promised, or held back by the floor (0: none).</summary>
    public long HighestEpoch => _views.Length > 0 ? _views[^1].Epoch : Floor;

    /// <summary>Promises read back from storage: sorted, one per epoch, bounded and above <paramref name="floor"/> as <see cref="With"/> leaves them.</summary>
    /// <exception cref="ArgumentException">Two layouts under one epoch, or a promise at or below the floor.</exception>
    public static ViewPromises From(IEnumerable<ShardView> views, long floor)
    {
        ArgumentNullException.ThrowIfNull(views);
        var promises = new ViewPromises([], Math.Max(0, floor));
        foreach (var view in views.OrderBy(v => v.Epoch))
        {
            if (view.Epoch <= promises.Floor) throw new ArgumentException($"Epoch {view.Epoch} is promised at or below the floor {floor}.", nameof(views));
            if (promises.At(view.Epoch) is { } other && !other.SameLayoutAs(view))
                throw new ArgumentException($"Epoch {view.Epoch} is promised to two layouts.", nameof(views));
            promises = promises.With(view);
        }
        return promises;
    }

    /// <summary>The view promised under <paramref name="epoch"/>, or null.</summary>
    public ShardView? At(long epoch)
    {
        foreach (var view in _views)
            if (view.Epoch == epoch) return view;
        return null;
    }

    /// <summary>
    /// What is left once the node installed <paramref name="installedEpoch"/>: the promises above it. The install settled
    /// its epoch, and the node refuses every epoch below it anyway; a floor at or below it is spent the same way.
    /// </summary>
    public ViewPromises Above(long installedEpoch)
    {
        var floor = Floor > installedEpoch ? Floor : 0;
        if (floor == Floor && (_views.Length == 0 || _views[0].Epoch > installedEpoch)) return this;
        return new ViewPromises([.. _views.Where(v => v.Epoch > installedEpoch)], floor);
    }

    /// <summary>
    /// These promises and <paramref name="view"/>'s, under its epoch; past <see cref="MaxCount"/> the lowest is dropped
    /// and raises the floor to its epoch.
    /// </summary>
    /// <exception cref="ArgumentException">Its epoch is promised to another layout, or is at or below the floor.</exception>
    public ViewPromises With(ShardView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        if (At(view.Epoch) is { } promised)
        {
            return promised.SameLayoutAs(view)
                ? this
                : throw new ArgumentException($"Epoch {view.Epoch} is promised to another layout ({promised}).", nameof(view));
        }
        if (view.Epoch <= Floor) throw new ArgumentException($"Epoch {view.Epoch} is at or below the floor {Floor}.", nameof(view));
        var views = _views.Append(view).OrderBy(v => v.Epoch).ToArray();
        if (views.Length <= MaxCount) return new ViewPromises(views, Floor);
        var dropped = views.Length - MaxCount;
        return new ViewPromises(views[dropped..], views[dropped - 1].Epoch);
    }

    public override string ToString() =>
        (_views.Length == 0 ? "no promise" : "promised epochs " + string.Join(' ', _views.Select(v => v.Epoch)))
        + (Floor > 0 ? $", held back up to epoch {Floor}" : "");
}
