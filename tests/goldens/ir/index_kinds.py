def _decide(ctx, _fallback=None, _given=None):
    try:
        if ctx.__class__ is not _dict:
            return _fallback(ctx)
        _s0 = ctx.get('user')
        if _s0.__class__ is not _dict:
            return _fallback(ctx)
        _c2 = 2
        _s1 = _s0.get('role')
        if _s1 not in _M0:
            return _fallback(ctx)
        _s2 = _s0.get('age')
        if _s2 is not None:
            _c2 += 1
            if _s2.__class__ is not _int or _s2 < 0 or _s2 > 150:
                return _fallback(ctx)
        _s3 = _s0.get('country')
        if _s3.__class__ is not _str or _len(_s3) > 2:
            return _fallback(ctx)
        if _len(_s0) != _c2 and (not _s0.keys() <= _N1):
            return _fallback(ctx)
        _s4 = ctx.get('request')
        if _s4.__class__ is not _dict:
            return _fallback(ctx)
        _c3 = 5
        _s5 = _s4.get('path')
        if _s5.__class__ is not _str or _len(_s5) > 64:
            return _fallback(ctx)
        _s6 = _s4.get('host')
        if _s6.__class__ is not _str or _len(_s6) > 64:
            return _fallback(ctx)
        _s7 = _s4.get('amount')
        if _s7.__class__ is not _int:
            return _fallback(ctx)
        _s8 = _s4.get('labels')
        if _s8 is None:
            _s8 = _K2
        else:
            _c3 += 1
            if _s8.__class__ not in _SEQS or _len(_s8) > 8:
                return _fallback(ctx)
        for _e4 in _s8:
            if _e4.__class__ is not _str or _len(_e4) > 16:
                return _fallback(ctx)
        _s8 = _frozenset(_s8)
        _s9 = _s4.get('files')
        if _s9 is None:
            _s9 = _K3
        else:
            _c3 += 1
            if _s9.__class__ not in _SEQS or _len(_s9) > 8:
                return _fallback(ctx)
        for _e5 in _s9:
            if _e5.__class__ is not _str or _len(_e5) > 64:
                return _fallback(ctx)
        _s9 = _tuple(_s9)
        _s10 = _s4.get('region')
        if _s10.__class__ is not _str or _len(_s10) > 8:
            return _fallback(ctx)
        _s11 = _s4.get('tenant')
        if _s11.__class__ is not _str or _len(_s11) > 8:
            return _fallback(ctx)
        _s12 = _s4.get('source')
        if _s12 is None:
            _s12 = '192.0.2.1'
        else:
            _c3 += 1
            if _s12.__class__ is not _str or _ip_text(_s12) != _s12:
                return _fallback(ctx)
        _s13 = _s4.get('agent')
        if _s13 is None:
            _s13 = ''
        else:
            _c3 += 1
            if _s13.__class__ is not _str or _len(_s13) > 64:
                return _fallback(ctx)
        if _len(_s4) != _c3 and (not _s4.keys() <= _N4):
            return _fallback(ctx)
        if _len(ctx) != 2 and (not ctx.keys() <= _N5):
            return _fallback(ctx)
        _fired = []
        _k6 = _IR6.get(_s1)
        if _k6 is not None:
            if _k6 < 1:
                _k7 = _bisect_right(_K7, _s7)
                _fired += _K8[:_K9[_k7]]
            else:
                _k8 = _bisect_right(_K10, _s7)
                _fired += _K11[:_K9[_k8]]
        _p9 = _s5[:2]
        _k10 = _IR12.get(_p9)
        if _k10 is not None:
            if _G13.matches(_s5):
                _fired.append(44)
        _p11 = _s5[:5]
        _fired += _IA14.get(_p11, _K3)
        _p12 = _s5[:7]
        _fired += _IA15.get(_p12, _K3)
        _p13 = _s6[-9:]
        _fired += _IA16.get(_p13, _K3)
        _p14 = _s6[-12:]
        _fired += _IA17.get(_p14, _K3)
        _fired += _IA18.get(_s10, _K3)
        _fired += _IA19.get(_s11, _K3)
        _v15 = _IR20.get(_s11)
        if _v15 is not None:
            if _s10 != _v15[2]:
                _fired.append(_v15[1])
        _fired += _IA21.get(_s13, _K3)
        _x16 = _IA23.get(_s3)
        if _x16 is None:
            _fired += _K22
        else:
            _fired += _K22[:_x16[0]]
            _fired += _K22[_x16[1]:]
        _x17 = _IA25.get(_s10)
        if _x17 is None:
            _fired += _K24
        else:
            _fired += _K24[:_x17[0]]
            _fired += _K24[_x17[1]:]
        for _e18 in _s8:
            if _e18.__class__ is not _str or _len(_e18) > 16:
                return _fallback(ctx)
            _fired += _IA26.get(_e18, _K3)
            _k19 = _IR27.get(_e18)
            if _k19 is not None:
                if _contains_all(_s8, _K28):
                    _fired.append(13)
        for _e20 in _s9:
            if _e20.__class__ is not _str or _len(_e20) > 64:
                return _fallback(ctx)
            _p21 = _e20[:5]
            _k22 = _IR29.get(_p21)
            if _k22 is not None:
                if _any((_v23.startswith('/tmp/') and _v23.endswith('.sh') for _v23 in _s9)):
                    _fired.append(43)
            _p24 = _e20[-4:]
            _fired += _IA30.get(_p24, _K3)
        for _e25 in _network_keys(_s12, _K31, _K32):
            _fired += _IA33.get(_e25, _K3)
        _o26 = _fired
        _fired = []
        for _e28 in _grams(_s13, 1) & _K34:
            _k29 = _IR35.get(_e28)
            if _k29 is not None:
                if _G36.search(_s13) is not None:
                    _fired.append(27)
        _x27 = _fired
        _fired = _o26
        _fired += [_r30 for _r30 in _K37 if _r30 not in _x27] if _x27 else _K37
        _x31 = _K3
        for _e32 in _network_keys(_s12, _K38, _K3):
            _x31 += _IA39.get(_e32, _K3)
        _fired += [_r33 for _r33 in _K40 if _r33 not in _x31] if _x31 else _K40
        if _s2 is not None:
            _k34 = _bisect_right(_K41, _s2)
            _fired += _K42[:_K43[_k34]]
        _k35 = _bisect_right(_K44, _s7)
        _fired += _K45[:_K46[_k35]]
        _fired += _K47[:_K48[_k35]]
        _fired += _IA49.get(_k35, _K3)
        for _e36 in _K50.hits(_s13):
            _fired += _IA51.get(_e36, _K3)
        if not _fired:
            return _NONE
        elif _len(_fired) == 1:
            return _ONE[_fired[0]]
        else:
            _fired.sort()
            return _several(_fired)
    except _Errors:
        return _fallback(ctx)

def _flags(_decision, _fired):
    return ()
