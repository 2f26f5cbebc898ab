import t from 'tap';
import { parseFlatKeyed, statsJson } from '../../src/cgroups/stats';

t.test('counters past 2^53 stay exact', async (t) => {
  const parsed = parseFlatKeyed('rss 4096\nhierarchical_memory_limit 9223372036854771712\nbad x\n');
  t.same(Object.keys(parsed), ['rss', 'hierarchical_memory_limit']);
  t.equal(statsJson(parsed), '{"rss":4096,"hierarchical_memory_limit":9223372036854771712}');
});
