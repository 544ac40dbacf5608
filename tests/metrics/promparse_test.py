#!/usr/bin/python3
"""Reads metrics_render_sample's output back with an independent parser.

Two checks: a strict line-by-line reading of the text exposition format
0.0.4 written here (prometheus_client's parser is lax by its own account),
and Debian's python3-prometheus-client parser for the values.

Usage: promparse_test.py PATH_TO_metrics_render_sample
"""

import math
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


class ClientParserTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.families = {
            f.name: f for f in text_string_to_metric_families(render())}

    def samples(self, family, sample_name=None):
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for s in self.families[family].samples
                if sample_name is None or s.name == sample_name}

    def test_families_and_types(self):
        self.assertEqual(
            {n: f.type for n, f in self.families.items()},
            {'sample_build_info': 'gauge',
             'sample_call_duration_seconds': 'histogram',
             'sample_calls': 'counter',  # the client drops _total
             'sample_in_flight': 'gauge',
             'sample_temperature': 'gauge',
             'sample_untouched': 'counter',
             'sample_upstream_connections': 'gauge'})

    def test_help_unescaped(self):
        self.assertEqual(
            self.families['sample_calls'].documentation,
            'Calls by method and code.\nSecond line with a \\ backslash.')

    def test_counter_with_folded_codes(self):
        def key(code, upstream):
            return ('sample_calls_total', tuple(sorted(
                {'grpc_method': '/a.B/C', 'grpc_code': code,
                 'upstream_code': upstream}.items())))
        self.assertEqual(self.samples('sample_calls'), {
            key('OK', ''): 3,
            key('INTERNAL', 'InternalError'): 1,
            key('UNAVAILABLE', 'ResourceUnavailable'): 1,
            key('UNAVAILABLE', 'other'): 7,
        })
        self.assertEqual(self.samples('sample_untouched'),
                         {('sample_untouched_total', ()): 0})

    def test_histogram(self):
        buckets = {s.labels['le']: s.value
                   for s in self.families['sample_call_duration_seconds'].samples
                   if s.name.endswith('_bucket')}
        self.assertEqual(buckets, {'0.001': 2, '0.01': 2, '0.1': 4, '1': 4,
                                   '+Inf': 6})
        by_name = {s.name: s.value
                   for s in self.families['sample_call_duration_seconds'].samples}
        self.assertEqual(by_name['sample_call_duration_seconds_count'], 6)
        self.assertAlmostEqual(by_name['sample_call_duration_seconds_sum'],
                               32.1015)

    def test_gauge_values_and_escaping(self):
        values = {s.labels['k']: s.value
                  for s in self.families['sample_temperature'].samples}
        self.assertEqual(values['half'], 0.5)
        self.assertEqual(values['neg'], -2)
        self.assertEqual(values['inf'], math.inf)
        self.assertEqual(values['ninf'], -math.inf)
        self.assertTrue(math.isnan(values['nan']))
        self.assertEqual(values['tiny'], 1e-7)
        self.assertEqual(values['big'], 1e20)
        self.assertEqual(values['esc"aped\\value\nline2'], 3)

    def test_callbacks_and_build_info(self):
        self.assertEqual(self.samples('sample_in_flight'),
                         {('sample_in_flight', ()): 7})
        self.assertEqual(self.samples('sample_upstream_connections'), {
            ('sample_upstream_connections',
             (('host', 'cvm.tencentcloudapi.com'),)): 3,
            ('sample_upstream_connections',
             (('host', 'cbs.tencentcloudapi.com'),)): 1,
        })
        self.assertEqual(self.samples('sample_build_info'),
                         {('sample_build_info', (('version', '0.1.0'),)): 1})


if __name__ == '__main__':
    SAMPLE_BIN = sys.argv.pop(1)
    unittest.main()
