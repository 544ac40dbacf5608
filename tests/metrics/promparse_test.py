#!/usr/bin/python3
"""Reads the gateway's /metrics (metrics_render_sample) back with an
independent parser.

Two checks: a strict line-by-line reading of the text exposition format
0.0.4 written here (prometheus_client's parser is lax by its own account),
and Debian's python3-prometheus-client parser for the values.

Usage: promparse_test.py PATH_TO_metrics_render_sample
"""

import re
import subprocess
import sys
import unittest

from prometheus_client.parser import text_string_to_metric_families

SAMPLE_BIN = None

NAME = r'[a-zA-Z_][a-zA-Z0-9_]*'
LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
LABEL = rf'{NAME}={LABEL_VALUE}'
FLOAT = r'(?:[+-]?Inf|NaN|-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)'
SAMPLE_RE = re.compile(
    rf'^({NAME})(?:\{{({LABEL}(?:,{LABEL})*)\}})? ({FLOAT})$')
HELP_RE = re.compile(rf'^# HELP ({NAME}) ((?:[^\\\n]|\\[\\n])*)$')
TYPE_RE = re.compile(rf'^# TYPE ({NAME}) (counter|gauge|histogram)$')
SUFFIXES = {'counter': [''], 'gauge': [''],
            'histogram': ['_bucket', '_sum', '_count']}


def render():
    return subprocess.run([SAMPLE_BIN], check=True, capture_output=True,
                          text=True).stdout


class StrictFormatTest(unittest.TestCase):

    def test_every_line_follows_the_grammar(self):
        text = render()
        self.assertTrue(text.endswith('\n'))
        families = []
        current = None
        series = set()
        lines = text.split('\n')[:-1]
        for i, line in enumerate(lines):
            if m := HELP_RE.match(line):
                name = m.group(1)
                self.assertNotIn(name, families, 'HELP twice')
                families.append(name)
                self.assertTrue(TYPE_RE.match(lines[i + 1]),
                                'TYPE follows HELP')
                current = None
            elif m := TYPE_RE.match(line):
                self.assertEqual(m.group(1), families[-1])
                current = (m.group(1), m.group(2))
            else:
                m = SAMPLE_RE.match(line)
                self.assertIsNotNone(m, f'bad sample line: {line!r}')
                self.assertIsNotNone(current, 'sample before TYPE')
                name, typ = current
                self.assertIn(m.group(1),
                              [name + s for s in SUFFIXES[typ]], line)
                key = (m.group(1), m.group(2))
                self.assertNotIn(key, series, 'duplicate series')
                series.add(key)
                if typ == 'counter':
                    self.assertTrue(name.endswith('_total'))
        self.assertEqual(families, sorted(families))


CVM = 'tencentcloud.cvm.v20170312.Cvm'
DEF_BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1',
               '2.5', '5', '10', '+Inf']


class ClientParserTest(unittest.TestCase):
    """The gateway's metric table as render_sample_main.cc fills it."""

    @classmethod
    def setUpClass(cls):
        cls.families = {
            f.name: f for f in text_string_to_metric_families(render())}

    def samples(self, family, sample_name=None):
        return {tuple(sorted(s.labels.items())): s.value
                for s in self.families[family].samples
                if sample_name is None or s.name == sample_name}

    def test_families_and_types(self):
        # The client drops a counter's _total.
        self.assertEqual(
            {n: f.type for n, f in self.families.items()},
            {'envelope_gateway_build_info': 'gauge',
             'envelope_gateway_calls_in_flight': 'gauge',
             'envelope_gateway_coalesced_calls': 'counter',
             'envelope_gateway_credential_refresh_failures': 'counter',
             'envelope_gateway_credential_refreshes': 'counter',
             'envelope_gateway_credentials_expiry_timestamp_seconds': 'gauge',
             'envelope_gateway_upstream_calls': 'counter',
             'envelope_gateway_upstream_connections': 'counter',
             'envelope_gateway_upstream_duration_seconds': 'histogram',
             'envelope_gateway_upstream_requests': 'counter',
             'envelope_gateway_upstream_retries': 'counter',
             'grpc_server_handled': 'counter',
             'grpc_server_handling_seconds': 'histogram',
             'grpc_server_started': 'counter',
             'process_cpu_seconds': 'counter',
             'process_max_fds': 'gauge',
             'process_open_fds': 'gauge',
             'process_resident_memory_bytes': 'gauge',
             'process_start_time_seconds': 'gauge',
             'process_virtual_memory_bytes': 'gauge'})

    def test_handled_as_go_grpc_prometheus_labels_it(self):
        def key(method, code, service=CVM):
            return tuple(sorted({'grpc_type': 'unary', 'grpc_service': service,
                                 'grpc_method': method,
                                 'grpc_code': code}.items()))
        self.assertEqual(self.samples('grpc_server_handled'), {
            key('DescribeZones', 'OK'): 3,
            key('DescribeZones', 'Unavailable'): 1,
            key('DescribeZones', 'ResourceExhausted'): 1,
            key('DescribeZones', 'Internal'): 1,
            key('DescribeInstances', 'NotFound'): 1,
            key('DescribeRegions', 'OK'): 1,
            # Three made-up methods, one series.
            key('unknown', 'Unimplemented', 'unknown'): 3,
        })
        started = self.samples('grpc_server_started')
        self.assertEqual(sum(started.values()), 11)
        self.assertEqual(started[(('grpc_method', 'unknown'),
                                  ('grpc_service', 'unknown'),
                                  ('grpc_type', 'unary'))], 3)

    def test_handling_histogram_has_go_grpc_prometheus_buckets(self):
        family = self.families['grpc_server_handling_seconds']
        zones = [s for s in family.samples
                 if s.labels.get('grpc_method') == 'DescribeZones']
        buckets = {s.labels['le']: s.value for s in zones
                   if s.name.endswith('_bucket')}
        self.assertEqual(list(buckets), DEF_BUCKETS)
        self.assertEqual(buckets['0.01'], 4)   # 3 x 6 ms, 8 ms
        self.assertEqual(buckets['1'], 4)
        self.assertEqual(buckets['2.5'], 6)    # 1.2 s, 2 s
        for s in family.samples:
            self.assertNotIn('grpc_code', s.labels)
        count = {s.name: s.value for s in zones}
        self.assertEqual(count['grpc_server_handling_seconds_count'], 6)
        self.assertAlmostEqual(count['grpc_server_handling_seconds_sum'],
                               3 * 0.006 + 2 + 1.2 + 0.008)

    def test_upstream_by_service_action_status_code_and_reason(self):
        def key(action, status, code):
            return tuple(sorted({'service': 'cvm', 'action': action,
                                 'http_status': status,
                                 'upstream_code': code}.items()))
        self.assertEqual(self.samples('envelope_gateway_upstream_calls'), {
            key('DescribeZones', '200', ''): 3,
            key('DescribeZones', '503', ''): 1,
            key('DescribeZones', '200', 'RequestLimitExceeded'): 1,
            key('DescribeZones', '200', 'Odd"Code\\with\nnewline'): 1,
            key('DescribeInstances', '200',
                'ResourceNotFound.InstanceNotExist'): 1,
            key('DescribeRegions', '200', ''): 1,
        })
        # The coalesced DescribeRegions call's two retries are not here.
        self.assertEqual(self.samples('envelope_gateway_upstream_retries'), {
            (('action', 'DescribeZones'), ('reason', 'rate_limit'),
             ('service', 'cvm')): 1,
            (('action', 'DescribeZones'), ('reason', 'transport'),
             ('service', 'cvm')): 2,
        })
        codes = {s.labels['grpc_code']
                 for s in self.families[
                     'envelope_gateway_upstream_duration_seconds'].samples}
        self.assertEqual(codes, {'OK', 'NotFound', 'Unavailable',
                                 'ResourceExhausted', 'Internal'})

    def test_computed_values(self):
        def one(family):
            (value,) = self.samples(family).values()
            return value
        self.assertEqual(one('envelope_gateway_calls_in_flight'), 7)
        self.assertEqual(one('envelope_gateway_upstream_connections'), 3)
        self.assertEqual(one('envelope_gateway_upstream_requests'), 12)
        self.assertEqual(one('envelope_gateway_coalesced_calls'), 4)
        self.assertEqual(
            one('envelope_gateway_credentials_expiry_timestamp_seconds'),
            1900000000)
        self.assertEqual(self.samples('envelope_gateway_build_info'),
                         {(('version', '0.1.0'),): 1})
        self.assertGreater(one('process_resident_memory_bytes'), 0)
        self.assertGreater(one('process_open_fds'), 0)
        self.assertGreaterEqual(one('process_max_fds'),
                                one('process_open_fds'))


if __name__ == '__main__':
    SAMPLE_BIN = sys.argv.pop(1)
    unittest.main()
