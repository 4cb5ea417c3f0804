namespace UniCLift.Tests.Segmentation;

using UniCLift.Compute.Segmentation;

/// <summary>Codes that live inside other codes' mask segments merge into them (split objects, blends, floaters).</summary>
public sealed class CodeMergeTests
{
    // 4x4 views. Mask: 0 = background, 1 = an object (left half), 2 = a small object (bottom-right corner).
    // Codes: background 0; the object decodes to 6 on most pixels and 7 (one bit off) on a stripe; small object 9;
    // code 13 is a boundary blend that sits inside the background segment.
    private static readonly int[] Mask = { 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 2, 1, 1, 0, 2 };
    private static readonly int[] View1 = { 6, 6, 0, 13, 6, 6, 0, 0, 7, 7, 0, 9, 6, 6, 0, 9 };
    private static readonly int[] View2 = { 6, 7, 0, 0, 6, 7, 13, 0, 6, 7, 0, 9, 6, 6, 0, 9 };

    private static CodeStatistics Statistics()
    {
        var s = CodeStatistics.OfView(View1, Mask);
        s.Add(CodeStatistics.OfView(View2, Mask));
        return s;
    }

    [Fact]
    public void AbsorbedCountsPixelsOfCodesInsideSegmentsOthersDominate()
    {
        var s = Statistics();
        Assert.Equal(5, s.Absorbed[(7, 6)]); // 2 + 3 pixels of 7 in segment 1, which 6 dominates
        Assert.Equal(2, s.Absorbed[(13, 0)]);
        Assert.False(s.Absorbed.ContainsKey((9, 0)));
        Assert.False(s.Absorbed.ContainsKey((6, 7)));
        Assert.Equal(2, s.Absorbed.Count);
    }

    [Fact]
    public void SplitCodeJoinsItsObjectAndBlendJoinsTheBackground()
    {
        var book = LabelCodebook.Build(Statistics(), null, new CodebookOptions { MinCodeFraction = 0 });
        Assert.Equal(0, book.BackgroundCode);
        Assert.Equal(new[] { 6, 9 }, book.Codes); // 7 and 13 are pieces, 9 (own segment) stays
        Assert.Equal(1, book.TryGetId(7));
        Assert.Equal(0, book.TryGetId(13));
        var ids = book.MapView(View1, 4, 4, null);
        Assert.Equal(new[] { 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 2, 1, 1, 0, 2 }, ids);
    }

    [Fact]
    public void MergingCanBeDisabledAndNeedsMostOfTheCodeAbsorbed()
    {
        var off = LabelCodebook.Build(Statistics(), null, new CodebookOptions { MinCodeFraction = 0, MergeAbsorbedFraction = 1, MergeNeighbourFraction = 1, MergeBackgroundFraction = 1, MergeCoSegmentFraction = 1 });
        Assert.Equal(new[] { 6, 7, 9, 13 }, off.Codes);
        Assert.Empty(off.MergedCodes);

        // Code 9 appears once inside the object's segment (1 of its 5 pixels): not enough to merge it.
        var view3 = (int[])View1.Clone();
        view3[0] = 9;
        var s = Statistics();
        s.Add(CodeStatistics.OfView(view3, Mask));
        var book = LabelCodebook.Build(s, null, new CodebookOptions { MinCodeFraction = 0 });
        Assert.Contains(9, book.Codes);
        Assert.DoesNotContain(7, book.Codes);
    }

    [Theory]
    [InlineData(7, true)]   // one bit from 6: an object whose embedding left one channel undecided
    [InlineData(62, false)] // three bits from 6: a second object that the masks sometimes merge with the first
    public void ALowerShareSufficesForACodeOneBitAway(int code, bool merges)
    {
        // Segment 1 (30 px): 21 px of code 6 and 9 px of the other code; segment 2 (11 px): the other code only.
        // The other code has 9 of its 20 pixels (45%) absorbed by 6: under MergeAbsorbedFraction (0.5), over
        // MergeNeighbourFraction (0.4).
        var mask = Enumerable.Repeat(1, 30).Concat(Enumerable.Repeat(2, 11)).ToArray();
        var codes = Enumerable.Repeat(6, 21).Concat(Enumerable.Repeat(code, 9)).Concat(Enumerable.Repeat(code, 11)).ToArray();
        // The co-segment rule would join them too (9 of 20 co-visible pixels in one segment, 0.45): off, this is about absorption.
        var book = LabelCodebook.Build(CodeStatistics.OfView(codes, mask), null,
            new CodebookOptions { MinCodeFraction = 0, Background = BackgroundSelection.None, MergeCoSegmentFraction = 1 });
        Assert.Equal(merges, !book.Codes.Contains(code));
        if (merges) Assert.Equal(book.TryGetId(6), book.TryGetId(code));
        var strict = LabelCodebook.Build(CodeStatistics.OfView(codes, mask), null,
            new CodebookOptions { MinCodeFraction = 0, Background = BackgroundSelection.None, MergeNeighbourFraction = 0.5, MergeCoSegmentFraction = 1 });
        Assert.Contains(code, strict.Codes);
    }

    [Fact]
    public void PairsCountSharedSegmentsOnlyInViewsThatShowBoth()
    {
        // View A: codes 6 and 7 together in object segment 1 (3 and 2 px), 9 alone in segment 2; view B: only 7.
        int[] maskA = [1, 1, 1, 1, 1, 2, 2, 0];
        int[] codesA = [6, 6, 6, 7, 7, 9, 9, 0];
        int[] maskB = [1, 1, 1, 1, 0, 0, 0, 0];
        int[] codesB = [7, 7, 7, 7, 0, 0, 0, 0];
        var s = CodeStatistics.OfView(codesA, maskA);
        s.Add(CodeStatistics.OfView(codesB, maskB));
        Assert.Equal((2L, 2L), s.Pairs[(6, 7)]);  // min(3, 2) shared in segment 1, min(3, 2) co-visible
        Assert.Equal((0L, 2L), s.Pairs[(6, 9)]);
        Assert.Equal((0L, 2L), s.Pairs[(7, 9)]);
        Assert.Equal((0L, 1L), s.Pairs[(0, 6)]);  // background segment 0 is not an object segment
        Assert.False(s.Pairs.ContainsKey((0, 7)) && s.Pairs[(0, 7)].Shared > 0);
        var (a, b, shared, co) = s.PairsToArrays();
        var back = CodeStatistics.FromArrays([], [], [], 0).WithPairs(a, b, shared, co);
        Assert.Equal(s.Pairs, back.Pairs);
        var e = Assert.Throws<ArgumentException>(() => CodeStatistics.FromArrays([], [], [], 0).WithPairs([7], [6], [1], [2]));
        Assert.Contains("(7, 6)", e.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void HalvesThatShareASegmentWheneverBothShowMerge(bool sameObject)
    {
        // Views 1-4 show code 5 or code 6 alone in their object segment (so neither is absorbed); view 5 shows both,
        // in one segment (the halves of one object) or in two (two objects), next to background code 1.
        var s = new CodeStatistics();
        for (int v = 0; v < 4; v++)
        {
            int code = v % 2 == 0 ? 5 : 6;
            s.AddView([code, code, code, code, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0, 0]);
        }
        s.AddView([5, 5, 6, 6, 1, 1, 1, 1], sameObject ? [1, 1, 1, 1, 0, 0, 0, 0] : [1, 1, 2, 2, 0, 0, 0, 0]);
        var options = new CodebookOptions { MinCodeFraction = 0, MergePairMinFraction = 0 };
        var book = LabelCodebook.Build(s, null, options);
        Assert.Equal(1, book.BackgroundCode);
        Assert.Equal(sameObject ? new[] { 5 } : new[] { 5, 6 }, book.Codes);
        Assert.Equal(sameObject, book.TryGetId(6) == book.TryGetId(5));
        var off = LabelCodebook.Build(s, null, options with { MergeCoSegmentFraction = 1 });
        Assert.Equal(new[] { 5, 6 }, off.Codes);
    }

    [Theory]
    [InlineData(2, true)]  // SAM-style parts of one object: one segment in 2 of the 5 views that show both (0.4)
    [InlineData(1, false)] // two touching objects the segmenter merges in 1 of 5 views (0.2)
    public void PartsTheMasksJoinInSomeViewsMergeByDefault(int joinedViews, bool merged)
    {
        // Five views show codes 5 and 6 side by side next to background code 1; in `joinedViews` of them the mask puts
        // both in one segment, in the others each in a segment of its own (so neither is absorbed).
        var s = new CodeStatistics();
        for (int v = 0; v < 5; v++)
            s.AddView([5, 5, 6, 6, 1, 1, 1, 1], v < joinedViews ? [1, 1, 1, 1, 0, 0, 0, 0] : [1, 1, 2, 2, 0, 0, 0, 0]);
        var options = CodebookOptions.Default with { MinCodeFraction = 0, MergePairMinFraction = 0 };
        var book = LabelCodebook.Build(s, null, options);
        Assert.Equal(merged, book.TryGetId(6) == book.TryGetId(5));
        // The threshold before #17 (0.5) kept the parts apart.
        var before = LabelCodebook.Build(s, null, options with { MergeCoSegmentFraction = 0.5 });
        Assert.NotEqual(before.TryGetId(5), before.TryGetId(6));
    }

    /// <summary>
    /// A sliver (code 5) that the masks put with two distinct objects (3 and 9, never in one segment together) joins the
    /// one it shares most with and does not bridge them (as a sliver kept at a 0.01% tiny-code threshold merged two
    /// objects of a full-scale room); the parts of one object (12 > 10 > 4, each joined to the next by the masks) still
    /// end as one.
    /// </summary>
    [Fact]
    public void ASliverDoesNotBridgeTwoObjectsButAChainOfPartsJoins()
    {
        var statistics = CodeStatistics.FromArrays([0, 3, 9, 5, 12, 10, 4], [5000, 900, 800, 40, 700, 500, 300], [5000, 0, 0, 0, 0, 0, 0], 8240)
            .WithPairs([3, 5, 3, 4, 10, 4], [5, 9, 9, 10, 12, 12], [36, 25, 0, 200, 300, 0], [40, 40, 600, 300, 450, 100]);
        var book = LabelCodebook.Build(statistics, null, CodebookOptions.Default with { MinCodeFraction = 0 });
        Assert.Equal(0, book.BackgroundCode);
        Assert.Equal(new[] { 3, 9, 12 }, book.Codes);
        Assert.Equal(book.TryGetId(3), book.TryGetId(5)); // 90% with 3, 62% with 9: the sliver joins 3
        Assert.NotEqual(book.TryGetId(3), book.TryGetId(9));
        Assert.Equal(book.TryGetId(12), book.TryGetId(10));
        Assert.Equal(book.TryGetId(12), book.TryGetId(4)); // through 10, although 4 and 12 never share a segment
    }

    [Fact]
    public void ChainsResolveToTheCodeThatStays()
    {
        // 5 lies inside 7's segment, 7 half inside 6's: 5 ends at 6.
        int[] mask = { 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 0, 0 };
        int[] codes = { 6, 6, 6, 6, 6, 7, 7, 7, 7, 5, 0, 0 };
        var book = LabelCodebook.Build(CodeStatistics.OfView(codes, mask), null, new CodebookOptions { MinCodeFraction = 0 });
        Assert.Equal(new[] { 6 }, book.Codes);
        Assert.Equal(1, book.TryGetId(7));
        Assert.Equal(1, book.TryGetId(5));
    }

    [Fact]
    public void PieceJoinsItsOneBitNeighbourRatherThanTheTouchingObjectThatAbsorbsMoreOfIt()
    {
        // Object A = code 0b0110 (6), its unsettled piece 0b0111 (7); object B = code 0b1000_0001 (129), touching A.
        // View 1: the mask merges A and B into one segment dominated by B; view 2: A's segment, where the piece dominates
        // (so A absorbs none of it); view 3: A's segment dominated by 6.
        int[] m1 = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }, c1 = { 129, 129, 129, 129, 129, 129, 7, 7, 7, 6, 0, 0 };
        int[] m2 = { 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 0, 0 }, c2 = { 7, 7, 7, 6, 6, 129, 129, 129, 129, 129, 0, 0 };
        int[] m3 = { 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 0, 0 }, c3 = { 6, 6, 6, 6, 7, 129, 129, 129, 129, 129, 0, 0 };
        var s = CodeStatistics.OfView(c1, m1);
        s.Add(CodeStatistics.OfView(c2, m2));
        s.Add(CodeStatistics.OfView(c3, m3));
        Assert.Equal(3, s.Absorbed[(7, 129)]);
        Assert.Equal(1, s.Absorbed[(7, 6)]);
        var book = LabelCodebook.Build(s, null, new CodebookOptions { MinCodeFraction = 0 });
        Assert.Equal(new[] { 129, 6 }, book.Codes);
        Assert.Equal(book.TryGetId(6), book.TryGetId(7)); // 3 px * 2^-3 (7 ^ 129 has 3 bits) < 1 px * 2^-1
    }

    /// <summary>
    /// A small object (code 36) that the masks merged with each of three neighbours in turn lies 40% in their segments
    /// (21%, 8% and 11% by the objects 448, 37 and 408) and would join the one-bit neighbour 37, which holds a fifth of
    /// that evidence; it stays. A piece of an object (7), absorbed mostly by its one-bit neighbour 6, still joins it.
    /// </summary>
    [Fact]
    public void ACodeJoinsOnlyAnObjectThatHoldsAFairShareOfItsAbsorbedPixels()
    {
        var statistics = CodeStatistics.FromArrays([0, 448, 37, 408, 36, 6, 7], [10000, 2000, 1500, 1500, 500, 1500, 200], [10000, 0, 0, 0, 0, 0, 0], 17200,
            [36, 36, 36, 7, 7], [448, 37, 408, 6, 448], [105, 40, 55, 150, 20]);
        var book = LabelCodebook.Build(statistics, null, CodebookOptions.Default with { MinCodeFraction = 0 });
        Assert.Contains(36, book.Codes);
        Assert.Equal(book.TryGetId(6), book.TryGetId(7));
        var before = LabelCodebook.Build(statistics, null, CodebookOptions.Default with { MinCodeFraction = 0, MergeTargetShare = 0 });
        Assert.DoesNotContain(36, before.Codes);
        Assert.Equal(before.TryGetId(37), before.TryGetId(36));
    }

    [Fact]
    public void CodeTheMasksMostlyCallBackgroundJoinsTheBackground()
    {
        // Background split: code 0 in view 1, code 1 (one bit off) in view 2, where it dominates the mask's 0 segment.
        int[] mask = { 0, 0, 0, 0, 1, 1 };
        var s = CodeStatistics.OfView(new[] { 0, 0, 0, 0, 6, 6 }, mask);
        s.Add(CodeStatistics.OfView(new[] { 1, 1, 1, 0, 6, 6 }, mask));
        Assert.DoesNotContain(s.Absorbed, kv => kv.Key.Code == 1);
        var book = LabelCodebook.Build(s, null, new CodebookOptions { MinCodeFraction = 0 });
        Assert.Equal(0, book.BackgroundCode);
        Assert.Equal(new[] { 6 }, book.Codes);
        Assert.Equal(0, book.TryGetId(1));
        var off = LabelCodebook.Build(s, null, new CodebookOptions { MinCodeFraction = 0, MergeBackgroundFraction = 1 });
        Assert.Equal(new[] { 6, 1 }, off.Codes);
    }

    [Fact]
    public void AbsorbedTableSurvivesTheArrayRoundTrip()
    {
        var s = Statistics();
        var (codes, areas, votes, pixels) = s.ToArrays();
        var (from, into, n) = s.AbsorbedToArrays();
        Assert.Equal(new[] { 7, 13 }, from);
        Assert.Equal(new[] { 6, 0 }, into);
        var travelled = CodeStatistics.FromArrays(codes, areas, votes, pixels, from, into, n);
        var direct = LabelCodebook.Build(new[] { View1, View2 }, new[] { Mask, Mask }, null, new CodebookOptions { MinCodeFraction = 0 });
        var fromArrays = LabelCodebook.Build(travelled, null, new CodebookOptions { MinCodeFraction = 0 });
        Assert.Equal(direct.Codes, fromArrays.Codes);
        Assert.Equal(direct.MergedCodes, fromArrays.MergedCodes);
        Assert.Equal(direct.MergedIds, fromArrays.MergedIds);

        var ex = Assert.Throws<ArgumentException>(() => CodeStatistics.FromArrays(codes, areas, votes, pixels, new[] { 7 }, new[] { 6 }, new long[] { 99 }));
        Assert.Contains("code 7", ex.Message);
        Assert.Throws<ArgumentException>(() => CodeStatistics.FromArrays(codes, areas, votes, pixels, new[] { 7 }, new[] { 6, 0 }, new long[] { 1 }));
    }

    [Fact]
    public void MergeTableIsCheckedAndServesLookups()
    {
        var book = new LabelCodebook(new[] { 6, 9 }, 0, new[] { 7, 13 }, new[] { 1, 0 });
        Assert.Equal(1, book.NearestId(7));
        Assert.Equal(new[] { 1, 2, 0, 1 }, book.MapGaussians(new[] { 7, 9, 13, 6 }));
        Assert.Throws<ArgumentException>(() => new LabelCodebook(new[] { 6 }, 0, new[] { 7 }, new[] { 2 }));
        Assert.Throws<ArgumentException>(() => new LabelCodebook(new[] { 6 }, null, new[] { 7 }, new[] { 0 }));
        Assert.Throws<ArgumentException>(() => new LabelCodebook(new[] { 6 }, 0, new[] { 6 }, new[] { 1 }));
        Assert.Throws<ArgumentException>(() => new LabelCodebook(new[] { 6 }, 0, new[] { 7 }, new int[0]));
    }
    [Fact]
    public void AMergeCountsOnlyTheEvidenceOfItsTargetsKind()
    {
        // Background 0, an object 5, a small object 7 (one bit from 5) that the masks missed in some views (40 of its
        // pixels in background-dominated segments) and merged with 5 in one (20 pixels), and a half 4 of the object 5
        // (one bit away, 55 pixels inside 5's segments, 5 in the background's). Small object 9, two bits from the
        // background, lies for 45% in background segments and for 15% in 5's: its best target is the background.
        var s = CodeStatistics.FromArrays([0, 4, 5, 7, 9], [1000, 100, 200, 100, 100], [1000, 5, 0, 40, 45], 1500,
            [4, 4, 7, 7, 9, 9], [0, 5, 0, 5, 0, 5], [5, 55, 40, 20, 45, 15]);
        var book = LabelCodebook.Build(s, null, new CodebookOptions { MinCodeFraction = 0 });
        Assert.Equal(0, book.BackgroundCode);
        // 7 stays an object of its own (only 20% of it lies in an object's segments), and so does 9 (45% < 50% in the
        // background's); the half 4 still joins its object.
        Assert.Equal(new[] { 5, 7, 9 }, book.Codes);
        Assert.Equal(1, book.TryGetId(4));

        // The rule before: every absorbed pixel counted (60% each), 7 joined 5 and 9 the background.
        var old = LabelCodebook.Build(s, null, new CodebookOptions { MinCodeFraction = 0, MergeCountsAllAbsorbed = true });
        Assert.Equal(new[] { 5 }, old.Codes);
        Assert.Equal(1, old.TryGetId(7));
        Assert.Equal(0, old.TryGetId(9));
    }
}
